package io.herd.executor;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts jobs as processes on this host. See the package documentation for
 * how a job is launched, placed in its cgroup and killed.
 *
 * <p>One runner per daemon; thread-safe.
 */
public final class ProcessRunner {

    private static final Logger log = LoggerFactory.getLogger(ProcessRunner.class);

    /** Largest chunk handed to an {@link OutputSink}. */
    public static final int CHUNK_BYTES = 64 * 1024;
    /** Where a program is looked up when the job's environment has no PATH. */
    public static final String DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

    /**
     * Runs as {@code sh -c JOIN herd-join S N FILE... M NAME=VALUE... PROGRAM ARGS...}:
     * with S = {@code ignore}, sets the catchable signals a job may be sent to ignored (for the
     * sandbox's own processes, which sit in the job's process group: the job's process undoes
     * it with {@code env --default-signal} inside the sandbox); writes its own pid into each of
     * the N cgroup.procs files, so the job is in its cgroup before it can fork; then gives the
     * job exactly its environment (a shell sets PWD, and some set SHLVL and OLDPWD, so those
     * are unset and re-exported from the M values the job asked for) and becomes the job by
     * exec, keeping the pid. Exit 125 when joining fails.
     */
    static final String JOIN_SCRIPT = String.join("\n",
            "if [ \"$1\" = ignore ]; then",
            "  for s in HUP INT QUIT USR1 USR2 PIPE ALRM TERM TSTP TTIN TTOU XCPU XFSZ VTALRM PROF WINCH; do trap '' $s; done",
            "  s=34; while [ $s -le 64 ]; do trap '' $s 2>/dev/null; s=$((s + 1)); done",
            "fi",
            "shift",
            "n=$1; shift",
            "while [ \"$n\" -gt 0 ]; do",
            "  echo $$ > \"$1\" || { echo \"" + ProcessRunner.JOIN_MESSAGE + " $1\" >&2; exit 125; }",
            "  shift; n=$((n - 1))",
            "done",
            "unset PWD OLDPWD SHLVL",
            "n=$1; shift",
            "while [ \"$n\" -gt 0 ]; do export \"$1\"; shift; n=$((n - 1)); done",
            "exec \"$@\"");
    static final int JOIN_FAILED = 125;
    /** What the join script prints first on the job's stderr when it cannot join (with the cgroup). */
    static final String JOIN_MESSAGE = "herd: cannot place the job in cgroup";
    static final List<String> SHELL_SET_VARIABLES = List.of("PWD", "OLDPWD", "SHLVL");


    /**
     * The one thread every job is forked from. bwrap's {@code --die-with-parent} is
     * PR_SET_PDEATHSIG, which fires when the parent <em>thread</em> exits, not the process:
     * forked from a pooled thread (a gRPC executor thread retires after 60 s idle) a guest
     * was killed a minute after it started. This thread lives as long as the daemon.
     */
    private static final java.util.concurrent.ExecutorService LAUNCHER =
            Executors.newSingleThreadExecutor(r -> launcherThread(r, "herd-exec-launcher"));

    /** A launcher thread: it unblocks SIGQUIT in itself first, so the jobs it forks need no env step for it ({@link SignalMask}). */
    private static Thread launcherThread(Runnable r, String name) {
        Thread t = new Thread(() -> {
            SignalMask.unblockQuitInThisThread();
            r.run();
        }, name);
        t.setDaemon(true);
        return t;
    }

    /** Whether jobs forked by the launcher threads start with no signal blocked or ignored; null until known. */
    private static volatile Boolean launchersPassCleanSignals;

    /** See {@link SignalMask}: asked once per JVM, of each launcher thread and of the process. */
    static boolean launchersPassCleanSignals() {
        Boolean known = launchersPassCleanSignals;
        if (known != null) return known;
        boolean clean = !SignalMask.processIgnoresSignals();
        try {
            for (java.util.concurrent.ExecutorService l : List.of(LAUNCHER, GUEST_LAUNCHER)) {
                clean &= l.submit(SignalMask::thisThreadBlocksNothing).get(10, TimeUnit.SECONDS);
            }
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            clean = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        if (!clean) log.info("jobs get their signals back to default through env (the daemon ignores some, or its launcher threads block some)");
        launchersPassCleanSignals = clean;
        return clean;
    }

    /**
     * The one thread every guest is forked from, for the same reason, in the idle I/O class once
     * {@link #guestsStartIdle} has put it there: a child inherits its parent thread's I/O priority
     * at fork, so guests start in the idle class without an {@code ionice} exec in their chain.
     */
    private static final java.util.concurrent.ExecutorService GUEST_LAUNCHER =
            Executors.newSingleThreadExecutor(r -> launcherThread(r, "herd-exec-guest-launcher"));
    /** Whether {@link #GUEST_LAUNCHER} forks its children in the idle I/O class; null until tried. */
    private static volatile Boolean guestLauncherIdle;

    private static Process startOnLauncher(ProcessBuilder pb) throws IOException {
        return startOn(LAUNCHER, pb);
    }

    private static Process startOn(java.util.concurrent.ExecutorService launcher, ProcessBuilder pb) throws IOException {
        return awaitStarted(launcher.submit(pb::start));
    }

    /** The process a launcher thread is forking (null if it did not), however long that takes. */
    private static Process awaitStarted(java.util.concurrent.Future<Process> f) throws IOException {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get();   // a fork takes milliseconds: wait it out rather than leave a job unowned
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    if (e.getCause() instanceof IOException io) throw io;
                    if (e.getCause() instanceof RuntimeException re) throw re;
                    throw new IOException(e.getCause());
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private final Cgroups cgroups;
    private final Path setsid;   // null: not installed; jobs share the daemon's process group
    private final Path shell;
    private final Path kill;     // null: signals other than TERM and KILL cannot be sent
    private final Path env;      // GNU env that can reset signals, or null
    /**
     * Whether a job's chain has {@code env --default-signal} to put signals back to default: only
     * where the launcher threads cannot pass them on clean ({@link #launchersPassCleanSignals}).
     */
    private volatile boolean signalsThroughEnv;
    private final Sandbox sandbox;
    private final Path nice;     // null: not installed
    private final Path ionice;
    private final Path prlimit;
    private final Path nsenter;  // null: guests always get a fresh sandbox
    private final Path plainEnv; // any env: gives a guest its environment (GNU env also resets signals: {@link #env})
    private final AtomicBoolean warnedNoCgroup = new AtomicBoolean();
    private volatile ScheduledExecutorService sampler;

    /** A runner placing jobs in {@code cgroups} ({@link Cgroups#none} for none). */
    public ProcessRunner(Cgroups cgroups) {
        this(cgroups, Sandbox.none("not configured"));
    }

    /** A runner placing jobs in {@code cgroups} and guests in {@code sandbox}. */
    public ProcessRunner(Cgroups cgroups, Sandbox sandbox) {
        this(cgroups, findProgram("setsid"), firstExisting("/bin/dash", "/usr/bin/dash", "/bin/sh", "/usr/bin/sh"),
                findProgram("kill"), signalResettingEnv(), sandbox);
    }

    ProcessRunner(Cgroups cgroups, Path setsid, Path shell, Path kill, Path env) {
        this(cgroups, setsid, shell, kill, env, Sandbox.none("not configured"));
    }

    ProcessRunner(Cgroups cgroups, Path setsid, Path shell, Path kill, Path env, Sandbox sandbox) {
        this.cgroups = Objects.requireNonNull(cgroups);
        this.sandbox = Objects.requireNonNull(sandbox);
        this.nice = findProgram("nice");
        this.ionice = findProgram("ionice");
        this.prlimit = findProgram("prlimit");
        this.nsenter = findProgram("nsenter");
        this.plainEnv = env != null ? env : findProgram("env");
        this.setsid = setsid;
        this.shell = Objects.requireNonNull(shell, "no /bin/sh on this host");
        this.kill = kill;
        this.env = env;
        this.signalsThroughEnv = env != null && !launchersPassCleanSignals();
        this.threadJoin = cgroups.version() == Cgroups.Version.V1 && !"false".equals(System.getProperty("herd.thread-join"));
        if (setsid == null) {
            log.warn("setsid (util-linux) is not installed: jobs share the daemon's process group, so signals reach "
                    + "only each job's own process and its descendants; install util-linux");
        }
    }

    public Cgroups cgroups() {
        return cgroups;
    }

    /** For tests: chains with the env step for signals, as where the launcher threads cannot pass them clean. */
    ProcessRunner signalsThroughEnv(boolean on) {
        this.signalsThroughEnv = on && env != null;
        return this;
    }

    public Sandbox sandbox() {
        return sandbox;
    }

    /**
     * Without a cgroup a guest's limits are rlimits, inherited by everything it starts:
     * {@code RLIMIT_AS} for memory (address space, an over-estimate of what it uses) and
     * {@code RLIMIT_NPROC} for tasks (counted per user, so it bounds all guests of the account
     * together, and it does not bind root).
     */
    private List<String> rlimits(LaunchSpec.Guest guest) {
        if (prlimit == null || (guest.memBytes() == 0 && guest.pidsMax() == 0)) return List.of();
        List<String> c = new ArrayList<>(List.of(prlimit.toString()));
        if (guest.memBytes() > 0) c.add("--as=" + guest.memBytes());
        if (guest.pidsMax() > 0) c.add("--nproc=" + guest.pidsMax());
        c.add("--");
        return c;
    }

    /**
     * Starts the job: returns once its process exists. It reaches its own session and (if it has
     * one) its cgroup a moment later, before it can start anything else; signals and kills sent
     * in that moment wait for it ({@link LocalProcess}). A job that cannot join its cgroup ends
     * with that as its failure. Its output flows to {@code sink} from the start.
     *
     * @throws LaunchException when the program or working directory is missing, or the OS refuses
     */
    public RunningProcess start(LaunchSpec spec, OutputSink sink) throws LaunchException {
        Objects.requireNonNull(sink, "sink");
        if (!Files.isDirectory(spec.workDir())) {
            throw new LaunchException("working directory '" + spec.workDir() + "' of job " + spec.jobId()
                    + " does not exist on this host");
        }
        Path program = resolveProgram(spec);
        WarmSandboxes.Lease kept = spec.guest() == null ? null : spec.guest().kept();
        if (kept != null && !spec.workDir().toAbsolutePath().normalize().equals(kept.dir())) {
            throw new IllegalArgumentException("job " + spec.jobId() + " runs in " + spec.workDir()
                    + ", not in its kept sandbox's " + kept.dir());
        }
        String cgroup = prepareCgroup(spec);
        // Without its cgroup the job could not be ended whole inside a sandbox that outlives it: a fresh one.
        if (kept != null && cgroup == null) spec = spec.asGuest(spec.guest().in(null));
        boolean idleLauncher = spec.guest() != null && guestsStartIdle();
        boolean threadJoins = cgroup != null && threadJoins();
        List<String> command;
        try {
            command = command(spec, program, cgroup, !threadJoins, cgroup != null && cgroups.guestCpuPriority(), idleLauncher);
        } catch (LaunchException e) {
            if (cgroup != null) removeQuietly(cgroup);
            throw e;
        }
        ProcessBuilder pb = new ProcessBuilder(command).directory(spec.workDir().toFile());
        Map<String, String> environment = pb.environment();
        environment.clear();
        // A guest's own variables are arguments of its chain's last step (see command()).
        if (spec.guest() == null) environment.putAll(spec.env()); else environment.put("PATH", DEFAULT_PATH);
        pb.redirectInput(spec.stdinPiped() ? ProcessBuilder.Redirect.PIPE
                : ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process process;
        try {
            java.util.concurrent.ExecutorService launcher = idleLauncher ? GUEST_LAUNCHER : LAUNCHER;
            process = threadJoins ? startInCgroup(launcher, pb, cgroup) : null;
            if (process == null) {
                // Not joined by the launcher thread: the chain joins its cgroup itself.
                if (threadJoins) pb.command(command(spec, program, cgroup, true, cgroups.guestCpuPriority(), idleLauncher));
                process = startOn(launcher, pb);
            }
        } catch (IOException e) {
            if (cgroup != null) removeQuietly(cgroup);
            throw new LaunchException("could not start '" + spec.argv().get(0) + "' for job " + spec.jobId()
                    + ": " + e.getMessage(), e);
        }
        return new LocalProcess(this, spec, process, cgroup, setsid != null, sink);
    }

    /**
     * Whether jobs are forked straight into their cgroup by a launcher thread that enters it for
     * the fork ({@link Cgroups#enterWithThisThread}, cgroup v1), so their chain has no shell to join
     * it: one exec less per job. Off after the first time it does not work, and with
     * {@code -Dherd.thread-join=false}.
     */
    private volatile boolean threadJoin;
    /** Whether a thread's move has been seen to work (read back from /proc once). */
    private volatile boolean threadJoinChecked;

    boolean threadJoins() {
        return threadJoin;
    }

    /** For tests: chains that join their cgroup themselves, as on cgroup v2. */
    ProcessRunner threadJoin(boolean on) {
        this.threadJoin = on && cgroups.version() == Cgroups.Version.V1;
        return this;
    }

    /** How a launcher thread enters and leaves a job's cgroup: {@link Cgroups}'s, unless a test makes a move fail. */
    private volatile java.util.function.Consumer<String> threadEnter = name -> cgroups().enterWithThisThread(name);
    private volatile java.util.function.Consumer<String> threadLeave = name -> cgroups().leaveWithThisThread(name);

    /** For tests: thread moves that fail, to see jobs start anyway and thread joining turn off. */
    ProcessRunner threadMoves(java.util.function.Consumer<String> enter, java.util.function.Consumer<String> leave) {
        this.threadEnter = enter;
        this.threadLeave = leave;
        return this;
    }

    /**
     * Forks the job on {@code launcher} while that thread is in the job's cgroup; null when the
     * thread cannot enter it (thread joining is then off, and the caller starts the job with a
     * joining chain). A thread that cannot leave again is an error: it would put every later job,
     * and itself, in that one job's cgroup.
     */
    private Process startInCgroup(java.util.concurrent.ExecutorService launcher, ProcessBuilder pb, String cgroup) throws IOException {
        java.util.concurrent.Future<Process> f = launcher.submit(() -> {
            try {
                threadEnter.accept(cgroup);
                if (!threadJoinChecked && !cgroups.thisThreadIs(cgroup, true)) {
                    throw new UncheckedIOException(new IOException("the thread is not in it after the move"));
                }
            } catch (UncheckedIOException | UnsupportedOperationException e) {
                leaveCgroup(cgroup);
                threadJoin = false;
                log.info("jobs join their cgroup from their chain (the launcher thread could not enter {}: {})", cgroup, e.getMessage());
                return null;
            }
            try {
                return pb.start();
            } finally {
                leaveCgroup(cgroup);
            }
        });
        return awaitStarted(f);
    }

    private void leaveCgroup(String cgroup) {
        try {
            threadLeave.accept(cgroup);
            if (!threadJoinChecked) {
                if (!cgroups.thisThreadIs(cgroup, false)) throw new UncheckedIOException(new IOException("still in a job's cgroup"));
                threadJoinChecked = true;
            }
        } catch (UncheckedIOException e) {
            threadJoin = false;
            log.error("the launcher thread {} could not leave job cgroup {} ({}): later jobs join their own from their chain",
                    Thread.currentThread().getName(), cgroup, e.getMessage());
        }
    }

    /** True when the job enters a kept sandbox: nsenter then waits for it in its process group. */
    boolean entersKeptSandbox(LaunchSpec spec) {
        return keptSandbox(spec) != null;
    }

    /** The kept sandbox the job's chain enters, or null (an owner's job, a fresh sandbox, or none). */
    private WarmSandboxes.Lease keptSandbox(LaunchSpec spec) {
        return spec.guest() != null && sandbox.available() && nsenter != null && env != null ? spec.guest().kept() : null;
    }

    /** A sandbox's helper process, forked where guests are (see {@link #GUEST_LAUNCHER}): it dies with the daemon. */
    Process startGuestHelper(ProcessBuilder pb) throws IOException {
        guestsStartIdle();
        return startOn(GUEST_LAUNCHER, pb);
    }

    /** Runs the kept sandboxes' idle check; its work is a few process kills now and then. */
    private static final ScheduledExecutorService WARM_TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "herd-warm-sandboxes");
        t.setDaemon(true);
        return t;
    });

    /**
     * Kept sandboxes for this node's guests, their private directories under {@code root}; empty
     * (with the reason logged) where a guest cannot enter one safely here (see {@link WarmSandboxes})
     * or {@code -Dherd.warm-sandboxes=false} turns them off.
     */
    public Optional<WarmSandboxes> warmSandboxes(Path root) {
        return warmSandboxes(root, WarmSandboxes.IDLE.toMillis());
    }

    Optional<WarmSandboxes> warmSandboxes(Path root, long idleMillis) {
        String why = warmSandboxesMissing();
        if (why != null) {
            if (sandbox.available()) log.info("guests get a fresh sandbox for each job: {}", why);
            return Optional.empty();
        }
        return Optional.of(new WarmSandboxes(this, sandbox, root, findProgram("sleep"), shell, nsenter, idleMillis,
                WARM_TIMER, System::currentTimeMillis));
    }

    /** Why guests cannot enter kept sandboxes on this node, or null when they can. */
    String warmSandboxesMissing() {
        if (!Boolean.parseBoolean(System.getProperty("herd.warm-sandboxes", "true"))) return "turned off (herd.warm-sandboxes=false)";
        if (!sandbox.available()) return "no sandbox";
        if (!sandbox.dropsToAccount()) return "the daemon is not root (a kept sandbox is entered as root, then left for the guests' account)";
        if (!cgroups.available()) return "no cgroups (they end a job whole inside a kept sandbox)";
        if (nsenter == null) return "nsenter (util-linux) is not installed";
        if (env == null) return "env cannot reset signals";
        if (setsid == null || kill == null) return "setsid or kill is not installed";
        if (findProgram("sleep") == null) return "sleep is not installed";
        return null;
    }

    /**
     * What a guest job runs, the same chain {@link #start} runs (session, priority, rlimits,
     * sandbox, signals, account) but without a cgroup to join, as if its group had the lowest CPU
     * weight: for benchmarks that run herd's sandbox chain bare, beside herd.
     *
     * @throws LaunchException when the program is not found
     */
    public List<String> guestChain(LaunchSpec spec) throws LaunchException {
        if (spec.guest() == null) throw new IllegalArgumentException("job " + spec.jobId() + " is not a guest");
        return command(spec, resolveProgram(spec), null, false, true, false);
    }

    /**
     * The same chain without {@code ionice} where {@link #start} leaves it out ({@link #guestsStartIdle}):
     * for a benchmark that runs it from a process already in the idle I/O class, as herd's guests' launcher thread is.
     */
    public List<String> guestChainAsStarted(LaunchSpec spec) throws LaunchException {
        if (spec.guest() == null) throw new IllegalArgumentException("job " + spec.jobId() + " is not a guest");
        return command(spec, resolveProgram(spec), null, false, true, guestsStartIdle());
    }

    /**
     * What a job of the node's own users runs, the same chain {@link #start} runs (session, the
     * join of the existing cgroup {@code cgroup} where the chain joins it, signals), for benchmarks
     * that run it bare.
     *
     * @throws LaunchException when the program is not found
     */
    public List<String> ownerChain(LaunchSpec spec, String cgroup) throws LaunchException {
        if (spec.guest() != null) throw new IllegalArgumentException("job " + spec.jobId() + " is a guest");
        if (cgroup != null && !cgroups.exists(cgroup)) throw new IllegalArgumentException("no cgroup " + cgroup);
        return command(spec, resolveProgram(spec), cgroup, !threadJoins(), false, false);
    }

    /**
     * The command line of a job: the chain of wrappers, then the program and its arguments.
     * {@code joinInChain}: a shell in the chain joins the job's cgroup (not when it is forked into
     * it, {@link #threadJoins}). {@code idleLauncher}: it is forked from a thread in the idle I/O
     * class, whose class it inherits.
     */
    private List<String> command(LaunchSpec spec, Path program, String cgroup, boolean joinInChain, boolean groupYields,
                                 boolean idleLauncher)
            throws LaunchException {
        LaunchSpec.Guest guest = spec.guest();
        boolean sandboxed = guest != null && sandbox.available();
        WarmSandboxes.Lease kept = keptSandbox(spec);
        // The sandbox's own processes (bwrap and its pid 1) are in the job's process group: they ignore
        // the signals herd forwards to the group, and the job gets them back at their defaults inside.
        // nsenter, which enters a kept sandbox, must not: it ends the way its child did, by raising the
        // same signal. herd forwards signals past it instead (LocalProcess#signal).
        boolean ignoreInWrapper = sandboxed && env != null && kept == null;

        List<String> command = new ArrayList<>();
        if (setsid != null) command.add(setsid.toString());
        if ((cgroup != null && joinInChain) || ignoreInWrapper) {
            command.addAll(List.of(shell.toString(), "-c", JOIN_SCRIPT, "herd-join", ignoreInWrapper ? "ignore" : "keep"));
            List<Path> procs = cgroup == null || !joinInChain ? List.of() : cgroups.procsFiles(cgroup);
            command.add(Integer.toString(procs.size()));
            for (Path p : procs) command.add(p.toString());
            List<String> keep = new ArrayList<>();
            for (String name : SHELL_SET_VARIABLES) {
                if (guest == null && spec.env().containsKey(name)) keep.add(name + "=" + spec.env().get(name));
            }
            command.add(Integer.toString(keep.size()));
            command.addAll(keep);
        }
        if (guest != null) {
            // Owner first, also where cgroups are missing: lowest CPU and I/O priority. In a cgroup the
            // guests' group has the lowest CPU weight already; ionice stays (BFQ honours its idle class).
            if (nice != null && !groupYields) command.addAll(List.of(nice.toString(), "-n", "19"));
            if (ionice != null && !idleLauncher) command.addAll(List.of(ionice.toString(), "-c", "3", "-t"));
            if (!limitInCgroup(spec, cgroup)) command.addAll(rlimits(guest));
            if (kept != null) {
                // Signals back to default and unblocked before nsenter, which forks the job (inside the
                // sandbox's PID namespace) and passes them on.
                if (signalsThroughEnv) command.addAll(List.of(env.toString(), "--default-signal"));
                command.addAll(List.of(nsenter.toString(), "-t",
                        Long.toString(kept.target()), "-m", "-u", "-i", "-n", "-p", "-r", "-w", "--"));
            } else {
                command.addAll(sandbox.wrap(spec.workDir(), guest.network()));
            }
            command.addAll(sandbox.dropPrivileges());
            // The guest's environment reaches its own program only. The steps before run as root (or the
            // daemon's user) outside the sandbox, where LD_PRELOAD=a-staged-library or the like would run
            // the guest's code as them: they start with PATH alone (start()), and the guest's variables are
            // handed to env as arguments, after the switch to the guests' account.
            if (program.toString().contains("=")) {
                throw new LaunchException("program '" + program + "' has '=' in its path: a guest's program is started"
                        + " by env, which would read it as a variable; rename it or a directory on its way");
            }
            if (plainEnv == null) throw new LaunchException("env (coreutils) is not installed on this host: it starts guests");
            command.add(plainEnv.toString());
            // Children of a JVM inherit its blocked SIGQUIT: GNU env puts every signal back to default, unblocked.
            if (env != null) command.add("--default-signal");
            command.addAll(List.of("-i", "--"));
            for (Map.Entry<String, String> e : new java.util.TreeMap<>(spec.env()).entrySet()) command.add(e.getKey() + "=" + e.getValue());
        } else if (signalsThroughEnv && !program.toString().contains("=")) {
            // Children of a JVM inherit its blocked SIGQUIT (HotSpot blocks it in every Java thread),
            // so Ctrl-\ would never reach the job: where the launcher threads could not unblock it
            // (SignalMask), GNU env puts every signal back to default, unblocked.
            command.addAll(List.of(env.toString(), "--default-signal"));
        }
        command.add(program.toString());
        command.addAll(spec.argv().subList(1, spec.argv().size()));

        return command;
    }

    private String prepareCgroup(LaunchSpec spec) {
        String name = spec.cgroupName();
        if (name == null) return null;
        if (!cgroups.available()) {
            if (warnedNoCgroup.compareAndSet(false, true)) {
                log.warn("jobs run without cgroups: {}; killing a job cannot reach children that leave its "
                        + "process group, and CPU time is sampled", cgroups.describe());
            }
            return null;
        }
        try {
            cgroups.create(name);
        } catch (UnsupportedOperationException | UncheckedIOException e) {
            if (warnedNoCgroup.compareAndSet(false, true)) {
                log.warn("jobs run without cgroups: {}", e.getMessage());
            }
            return null;
        }
        return name;
    }

    /** The guest's limits in its cgroup; false when they could not be set there (rlimits then). */
    private boolean limitInCgroup(LaunchSpec spec, String cgroup) {
        if (cgroup == null) return false;
        try {
            cgroups.setLimits(cgroup, spec.guest().memBytes(), spec.guest().pidsMax());
            return true;
        } catch (UnsupportedOperationException | UncheckedIOException e) {
            log.warn("job {}: cgroup limits not in force ({}); using rlimits", spec.jobId(), e.getMessage());
            return false;
        }
    }

    void removeQuietly(String cgroup) {
        try {
            cgroups.killAll(cgroup);
            cgroups.remove(cgroup);
        } catch (RuntimeException e) {
            log.warn("could not remove cgroup {}: {}", cgroup, e.getMessage());
        }
    }

    /** The program the job names, as an absolute path, found the way the kernel and a shell would. */
    private static Path resolveProgram(LaunchSpec spec) throws LaunchException {
        String name = spec.argv().get(0);
        if (name.contains("/")) {
            Path p = spec.workDir().resolve(name);
            if (!Files.exists(p)) throw new LaunchException("program '" + name + "' not found on this host");
            if (Files.isDirectory(p) || !Files.isExecutable(p)) {
                throw new LaunchException("program '" + name + "' is not executable on this host");
            }
            return p.toAbsolutePath().normalize();
        }
        String path = spec.env().getOrDefault("PATH", DEFAULT_PATH);
        boolean foundButNotExecutable = false;
        for (String dir : path.split(":", -1)) {
            Path p = (dir.isEmpty() ? spec.workDir() : spec.workDir().resolve(dir)).resolve(name);
            if (Files.isRegularFile(p)) {
                if (Files.isExecutable(p)) return p.toAbsolutePath().normalize();
                foundButNotExecutable = true;
            }
        }
        if (foundButNotExecutable) throw new LaunchException("program '" + name + "' is not executable on this host");
        throw new LaunchException("program '" + name + "' not found on this host (PATH=" + path + ")");
    }

    /**
     * Whether guests can be forked in the idle I/O class without {@code ionice} in their chain: tried
     * once per JVM, by putting the guests' launcher thread in the idle class ({@code ionice -c 3 -p TID},
     * its thread id from {@code /proc/thread-self}) and checking that a process it forks reports the
     * idle class. False (and ionice stays in the chain) where any of this fails.
     */
    boolean guestsStartIdle() {
        Boolean b = guestLauncherIdle;
        if (b != null) return b;
        synchronized (ProcessRunner.class) {
            if (guestLauncherIdle != null) return guestLauncherIdle;
            String why = null;
            if (ionice == null) {
                why = "ionice is not installed";
            } else {
                try {
                    String tid = GUEST_LAUNCHER.submit(
                            () -> Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString()).get();
                    String set = output(startOnLauncher(new ProcessBuilder(ionice.toString(), "-c", "3", "-p", tid)));
                    String seen = output(startOn(GUEST_LAUNCHER, new ProcessBuilder(ionice.toString())));
                    if (!seen.equals("idle")) why = "a process forked by it reports '" + seen + "'" + (set.isEmpty() ? "" : " (" + set + ")");
                } catch (IOException | java.util.concurrent.ExecutionException e) {
                    why = e.toString();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;   // not settled: tried again next time
                }
            }
            if (why != null) log.info("guests get the idle I/O class from ionice in their chain: the launcher thread cannot pass it on ({})", why);
            guestLauncherIdle = why == null;
            return guestLauncherIdle;
        }
    }

    /** What a short helper printed (stdout and stderr, trimmed), once it has ended. */
    private static String output(Process p) throws IOException, InterruptedException {
        p.getOutputStream().close();
        String out;
        try (java.io.InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        }
        String err;
        try (java.io.InputStream in = p.getErrorStream()) {
            err = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
        }
        if (!p.waitFor(5, TimeUnit.SECONDS)) p.destroyForcibly();
        return err.isEmpty() ? out : (out + " " + err).trim();
    }

    /** {@code env} if it is GNU coreutils 8.31 or later (busybox's has no {@code --default-signal}). */
    private static Path signalResettingEnv() {
        Path env = findProgram("env");
        if (env == null) return null;
        try {
            Process p = new ProcessBuilder(env.toString(), "--default-signal", "true")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) return env;
            p.destroyForcibly();
        } catch (IOException e) {
            // fall through
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.warn("{} cannot reset signals (GNU coreutils 8.31+ can): jobs start with SIGQUIT blocked, as the JVM has it",
                env);
        return null;
    }

    private static Path findProgram(String name) {
        return firstExisting("/usr/bin/" + name, "/bin/" + name, "/usr/sbin/" + name, "/sbin/" + name);
    }

    private static Path firstExisting(String... candidates) {
        for (String c : candidates) {
            Path p = Path.of(c);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    boolean resetsSignals() {
        return env != null;
    }

    Path killProgram() {
        return kill;
    }

    /** CPU sampling for jobs without a cgroup: one daemon thread for all of them. */
    ScheduledExecutorService sampler() {
        ScheduledExecutorService s = sampler;
        if (s == null) {
            synchronized (this) {
                if (sampler == null) {
                    sampler = Executors.newSingleThreadScheduledExecutor(r -> {
                        Thread t = new Thread(r, "herd-exec-cpu-sampler");
                        t.setDaemon(true);
                        return t;
                    });
                }
                s = sampler;
            }
        }
        return s;
    }
}
