package io.herd.executor;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A job's process as started by {@link ProcessRunner}. */
final class LocalProcess implements RunningProcess {

    private static final Logger log = LoggerFactory.getLogger(LocalProcess.class);

    /** Longest wait for a new job to reach its session and cgroup; it takes a few milliseconds. */
    private static final long LAUNCH_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(5);

    /**
     * How long what is left in a job's cgroup when it ends may take to go by itself (a sandbox's init
     * exiting) before it is killed.
     */
    private static final Duration EXIT_GRACE = Duration.ofMillis(5);
    /** With a cgroup every writer is dead at exit, so the pipes reach end-of-file at once. */
    private static final long DRAIN_WITH_CGROUP_MILLIS = 10_000;
    /** Without one a double-forked child may hold a pipe open for ever: wait a little, then let go. */
    private static final long DRAIN_WITHOUT_CGROUP_MILLIS = 2_000;
    private static final long SAMPLE_MILLIS = 200;
    /**
     * How often a guest with a memory limit is checked for the OOM killer having acted in its
     * cgroup. The kernel kills one process; the job is then stopped whole, as HTCondor holds a
     * job over its memory: a shell loop around a killed child would otherwise fill the limit
     * again and again, and every cycle of faulting in and freeing gigabytes costs the owner
     * (page zeroing, freeing and reclaim run partly outside the guest's CPU share).
     */
    static final long OOM_CHECK_MILLIS = 250;

    private final ProcessRunner runner;
    private final LaunchSpec spec;
    private final Process process;
    private final long pid;
    private final String cgroup;
    private final boolean ownGroup;
    /** The job enters a kept sandbox: its first process is nsenter, which signals must pass (see {@link #signal}). */
    private final boolean pastWrapper;
    private final OutputStream stdin;
    private final java.util.concurrent.Future<?> stdoutReader;
    private final java.util.concurrent.Future<?> stderrReader;
    private final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
    /**
     * Completes once the job is its own session leader and in its cgroup, or gone. Checked only
     * when something needs it (a signal, a kill, a freeze): polling {@code /proc} for every job
     * was 4 % of a host's CPU on an array of short jobs, most of which end untouched.
     */
    private final CompletableFuture<Void> launched = new CompletableFuture<>();
    private final Object launchCheck = new Object();
    /** The start of the job's stderr, where the join script says why it failed (see {@link #joinFailed}). */
    private final java.io.ByteArrayOutputStream stderrHead = new java.io.ByteArrayOutputStream();
    private static final int STDERR_HEAD_BYTES = 1024;
    private final AtomicLong sampledCpuMillis = new AtomicLong();
    private final ScheduledFuture<?> sampling;
    private final ScheduledFuture<?> oomWatch;

    LocalProcess(ProcessRunner runner, LaunchSpec spec, Process process, String cgroup, boolean ownGroup,
                 OutputSink sink) {
        this.runner = runner;
        this.spec = spec;
        this.process = process;
        this.pid = process.pid();
        this.cgroup = cgroup;
        this.ownGroup = ownGroup;
        this.pastWrapper = cgroup != null && runner.entersKeptSandbox(spec);
        this.stdin = spec.stdinPiped() ? new FlushingStream(process.getOutputStream()) : null;
        this.stdoutReader = reader("out", process.getInputStream(), sink, true);
        this.stderrReader = reader("err", process.getErrorStream(), sink, false);
        this.sampling = cgroup == null
                ? runner.sampler().scheduleAtFixedRate(this::sampleCpu, SAMPLE_MILLIS / 4, SAMPLE_MILLIS,
                        TimeUnit.MILLISECONDS)
                : null;
        this.oomWatch = cgroup != null && spec.guest() != null && spec.guest().memBytes() > 0
                ? runner.sampler().scheduleWithFixedDelay(this::stopIfOutOfMemory, OOM_CHECK_MILLIS, OOM_CHECK_MILLIS,
                        TimeUnit.MILLISECONDS)
                : null;
        IO.execute(named("wait", this::awaitExit));
    }

    /**
     * Each job's waiter and its two output readers run on pooled threads: a job of a busy array
     * lasts milliseconds, and three new threads for each cost about as much as its process chain.
     * Pooled threads never fork (only {@code herd-exec-launcher} does, see the package notes),
     * so the sandbox's die-with-parent does not depend on them. Idle ones retire after a minute.
     */
    private static final java.util.concurrent.ExecutorService IO = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "herd-exec-io");
        t.setDaemon(true);
        return t;
    });

    /** {@code task} under the name {@code herd-exec-JOB-WHAT} while it runs (for thread dumps). */
    private Runnable named(String what, Runnable task) {
        return () -> {
            Thread me = Thread.currentThread();
            String was = me.getName();
            me.setName("herd-exec-" + spec.jobId() + "-" + what);
            try {
                task.run();
            } finally {
                me.setName(was);
            }
        };
    }

    Process process() {
        return process;
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public Optional<String> cgroup() {
        return Optional.ofNullable(cgroup);
    }

    @Override
    public OutputStream stdin() {
        if (stdin == null) throw new IllegalStateException("job " + spec.jobId() + " was started without stdin");
        return stdin;
    }

    @Override
    public void signal(int signo) {
        if (signo < 1 || signo > 64) throw new IllegalArgumentException("no such signal: " + signo);
        if (exit.isDone()) return;
        awaitLaunch();
        if (ownGroup && pastWrapper && !GROUP_WIDE.contains(signo)) {
            sendKill(signo, jobPastWrapper());
            return;
        }
        if (ownGroup) {
            if (sendKill(signo, "-" + pid)) return;
            // No kill(1): ProcessHandle can still send TERM and KILL, one process at a time.
        }
        List<ProcessHandle> targets = new ArrayList<>();
        process.toHandle().descendants().forEach(targets::add);
        targets.add(0, process.toHandle());
        if (!ownGroup && runner.killProgram() != null) {
            for (ProcessHandle h : targets) sendKill(signo, Long.toString(h.pid()));
            return;
        }
        if (signo != 9 && signo != 15) {
            throw new UnsupportedOperationException("cannot send signal " + signo + " to job " + spec.jobId()
                    + ": kill(1) is not installed on this host");
        }
        for (ProcessHandle h : targets) {
            if (signo == 9) h.destroyForcibly(); else h.destroy();
        }
    }

    /**
     * Signals that stop or continue a job, and KILL, reach the whole group, nsenter included: it
     * stops itself when its child stops, and must go on with it.
     */
    private static final java.util.Set<Integer> GROUP_WIDE = java.util.Set.of(9, 18, 19, 20, 21, 22);
    private static final long PAST_WRAPPER_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);

    /**
     * The job's process group without nsenter, its first process, which waits for the job in a
     * kept sandbox and would end at once on a signal the job may handle: members of the job's
     * cgroup whose group is the job's. nsenter forks the job a moment after it joins the cgroup;
     * a signal sent in that moment waits for it.
     */
    private List<String> jobPastWrapper() {
        long deadline = System.nanoTime() + PAST_WRAPPER_WAIT_NANOS;
        long pause = 50_000;
        while (true) {
            List<String> pids = new ArrayList<>();
            for (long p : runner.cgroups().pids(cgroup)) {
                if (p != pid && ProcStat.read(p).map(s -> s.pgrp() == pid).orElse(false)) pids.add(Long.toString(p));
            }
            if (!pids.isEmpty() || !process.isAlive() || System.nanoTime() > deadline) return pids;
            java.util.concurrent.locks.LockSupport.parkNanos(pause);
            pause = Math.min(5_000_000, pause * 2);
        }
    }

    /** {@code kill -SIGNO -- TARGET}; false when kill(1) is missing. ESRCH (already gone) counts as done. */
    private boolean sendKill(int signo, String target) {
        return sendKill(signo, List.of(target));
    }

    private boolean sendKill(int signo, List<String> targets) {
        Path kill = runner.killProgram();
        if (kill == null) return false;
        if (targets.isEmpty()) return true;
        try {
            List<String> cmd = new ArrayList<>(List.of(kill.toString(), "-" + signo, "--"));
            cmd.addAll(targets);
            Process p = new ProcessBuilder(cmd)
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            p.waitFor();
            return true;
        } catch (IOException e) {
            log.warn("cannot run {}: {}", kill, e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return true;
        }
    }

    @Override
    public void killTree() {
        awaitLaunch();
        if (cgroup != null) {
            runner.cgroups().killAll(cgroup);
        } else {
            // Snapshot first: once a parent dies its children are re-parented out of reach.
            List<ProcessHandle> descendants = new ArrayList<>();
            process.toHandle().descendants().forEach(descendants::add);
            if (ownGroup) sendKill(9, "-" + pid);
            process.toHandle().destroyForcibly();
            descendants.forEach(ProcessHandle::destroyForcibly);
        }
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** How the job is frozen now, or null. */
    private String frozenBy;

    @Override
    public synchronized String freeze() {
        if (exit.isDone()) return null;
        if (frozenBy != null) return frozenBy;
        if (cgroup != null && runner.cgroups().canFreeze(cgroup)) {
            // Not waiting for FROZEN: the kernel finishes on its own (at once for running tasks, when
            // their I/O returns for tasks in uninterruptible sleep), and the next guest is frozen meanwhile.
            runner.cgroups().startFreeze(cgroup);
            frozenBy = "cgroup freezer";
        } else if (TreeSignals.stop(runner.killProgram(), this::treePids)) {
            frozenBy = "SIGSTOP";
        }
        return frozenBy;
    }

    @Override
    public synchronized void thaw() {
        if (frozenBy == null) return;
        if (frozenBy.equals("SIGSTOP")) TreeSignals.cont(runner.killProgram(), treePids());
        else runner.cgroups().thaw(cgroup);
        frozenBy = null;
    }

    @Override
    public synchronized boolean frozen() {
        return frozenBy != null;
    }

    /** Every live process of the job: its cgroup's, or its main process and descendants. */
    private java.util.Set<Long> treePids() {
        if (cgroup != null) return runner.cgroups().pids(cgroup);
        java.util.Set<Long> pids = new java.util.TreeSet<>();
        if (process.isAlive()) pids.add(pid);
        process.toHandle().descendants().forEach(h -> pids.add(h.pid()));
        return pids;
    }

    @Override
    public CompletableFuture<ExitStatus> onExit() {
        return exit.copy();
    }

    /** Stops the whole job once the OOM killer has killed any process of it (see {@link #OOM_CHECK_MILLIS}). */
    private void stopIfOutOfMemory() {
        // No need to wait for the launch: a kill by the OOM killer in the job's cgroup means the job is in it.
        if (exit.isDone()) return;
        try {
            // Only a real kill counter: v1 kernels without one have just memory.failcnt, which
            // also counts page cache reclaimed at the limit, not a reason to stop a job.
            if (runner.cgroups().oomKills(cgroup).orElse(0) > 0) {
                log.info("job {}: the kernel killed a process over the job's memory limit; stopping the job", spec.jobId());
                if (oomWatch != null) oomWatch.cancel(false);
                runner.cgroups().killAll(cgroup);
            }
        } catch (RuntimeException e) {
            log.warn("job {}: memory check failed: {}", spec.jobId(), e.toString());
        }
    }

    /** The waiter thread: exit, kill what the job left behind, account, clean up, drain, report. */
    private void awaitExit() {
        int code;
        while (true) {
            try {
                code = process.waitFor();
                break;
            } catch (InterruptedException e) {
                // the waiter has no one to answer to; keep waiting
            }
        }
        long cpuMillis = 0;
        String failure = null;
        if (oomWatch != null) oomWatch.cancel(false);
        try {
            if (cgroup != null) {
                // A job ends with its main process: whatever it left running would otherwise hold
                // the host's CPU without an owner, and the pipes open.
                Cgroups cgroups = runner.cgroups();
                if (!cgroups.awaitEmpty(cgroup, EXIT_GRACE)) cgroups.killAll(cgroup);
                cpuMillis = cgroups.cpuTime(cgroup).map(Duration::toMillis).orElse(0L);
                // The OOM killer acted on the job's limit: say so, whatever the job's own status says
                // (a shell may have reported its killed child as an ordinary exit code).
                if (spec.guest() != null && spec.guest().memBytes() > 0 && cgroups.oomKilled(cgroup)) {
                    failure = ExitStatus.outOfMemory(cgroups.memoryLimit(cgroup).orElse(spec.guest().memBytes()));
                }
                cgroups.remove(cgroup);
            } else {
                sampling.cancel(false);
                cpuMillis = sampledCpuMillis.get();
                if (ownGroup) sendKill(9, "-" + pid);
            }
        } catch (RuntimeException e) {
            log.warn("job {}: cleanup after exit failed: {}", spec.jobId(), e.toString());
        }
        long drain = cgroup != null ? DRAIN_WITH_CGROUP_MILLIS : DRAIN_WITHOUT_CGROUP_MILLIS;
        long deadline = System.currentTimeMillis() + drain;
        for (java.util.concurrent.Future<?> t : List.of(stdoutReader, stderrReader)) {
            try {
                t.get(Math.max(1, deadline - System.currentTimeMillis()), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                // still reading (reported below) or failed (pump logs its own failures)
            }
            if (!t.isDone()) {
                log.warn("job {}: a process outside its reach still holds its {}; not waiting for it",
                        spec.jobId(), t == stdoutReader ? "stdout" : "stderr");
            }
        }
        launched.complete(null);   // gone: nothing left to wait for
        if (joinFailed(code)) {
            failure = "could not place job " + spec.jobId() + " in cgroup " + cgroup + " (" + runner.cgroups().describe() + ")";
        }
        ExitStatus status = ExitStatus.fromJava(code, cpuMillis);
        exit.complete(failure == null ? status : status.withFailure(failure));
    }

    /**
     * Whether the job ended in the join script, before it became the job: the script's exit code
     * and its message at the start of stderr, after the shell's own error
     * ({@link ProcessRunner#JOIN_SCRIPT}). A job that prints the same and exits with the same code
     * is taken at its word: it fails, and only itself.
     */
    private boolean joinFailed(int code) {
        if (cgroup == null || code != ProcessRunner.JOIN_FAILED) return false;
        return stderrHead.toString(java.nio.charset.StandardCharsets.US_ASCII).contains(ProcessRunner.JOIN_MESSAGE);
    }

    /**
     * Watches the new process until it leads its own session (setsid) and sits in its cgroup (the
     * join script), or is gone: polled, quickly at first (the chain takes a few milliseconds),
     * then less often. One caller polls; others wait for its answer.
     */
    private void confirmLaunch() {
        synchronized (launchCheck) {
            if (launched.isDone()) return;
            long deadline = System.nanoTime() + LAUNCH_TIMEOUT_NANOS;
            long pause = 50_000;
            try {
                while (!launched.isDone()) {
                    // In its own group, checked also when it is in its cgroup: a job forked into its cgroup by
                    // the launcher thread (ProcessRunner#threadJoins) is there before setsid runs, and a
                    // signal to a group that does not exist yet would be lost.
                    boolean grouped = !ownGroup || ProcStat.read(pid).map(s -> s.pgrp() == pid).orElse(false);
                    if (grouped && (cgroup == null || runner.cgroups().contains(cgroup, pid))) break;
                    if (!process.isAlive()) break;   // a quick job that is already done
                    if (System.nanoTime() > deadline) {
                        log.warn("job {} (pid {}) has not reached its session and cgroup after 5 s; continuing", spec.jobId(), pid);
                        break;
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(pause);
                    pause = Math.min(2_000_000, pause * 2);
                }
            } catch (RuntimeException e) {
                log.warn("job {}: checking its launch failed: {}", spec.jobId(), e.toString());
            }
            launched.complete(null);
        }
    }

    /** Signals and kills wait until the job can be reached as a whole; at most the launch timeout. */
    private void awaitLaunch() {
        confirmLaunch();
        try {
            launched.get(LAUNCH_TIMEOUT_NANOS + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            // act anyway: better a partial reach than none
        }
    }

    /**
     * Without a cgroup: the job's CPU is its main process's own and reaped
     * children's time plus that of its live descendants, sampled while it
     * runs (after exit {@code /proc} has nothing left to read).
     */
    private void sampleCpu() {
        try {
            Optional<ProcStat> main = ProcStat.read(pid);
            if (main.isEmpty() || !main.get().running()) return;
            long total = main.get().cpuMillisWithReapedChildren();
            for (ProcessHandle d : (Iterable<ProcessHandle>) process.toHandle().descendants()::iterator) {
                total += ProcStat.read(d.pid()).map(ProcStat::cpuMillisWithReapedChildren).orElse(0L);
            }
            sampledCpuMillis.accumulateAndGet(total, Math::max);
        } catch (RuntimeException e) {
            log.debug("CPU sample of job {} failed: {}", spec.jobId(), e.toString());
        }
    }

    private java.util.concurrent.Future<?> reader(String which, InputStream in, OutputSink sink, boolean stdout) {
        return IO.submit(named(which, () -> pump(in, sink, stdout)));
    }

    private void pump(InputStream in, OutputSink sink, boolean stdout) {
        byte[] buf = new byte[ProcessRunner.CHUNK_BYTES];
        boolean sinkBroken = false;
        boolean head = !stdout && cgroup != null;
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n == 0) continue;
                if (head) {   // this reader is the only writer; the waiter reads it once the reader is done
                    stderrHead.write(buf, 0, Math.min(n, STDERR_HEAD_BYTES - stderrHead.size()));
                    head = stderrHead.size() < STDERR_HEAD_BYTES;
                }
                try {
                    if (stdout) sink.stdout(buf, 0, n); else sink.stderr(buf, 0, n);
                } catch (RuntimeException e) {
                    if (!sinkBroken) {
                        log.warn("job {}: output sink failed, dropping {} ({})", spec.jobId(),
                                stdout ? "stdout" : "stderr", e.toString());
                        sinkBroken = true;
                    }
                }
            }
        } catch (IOException e) {
            log.debug("job {}: {} closed: {}", spec.jobId(), stdout ? "stdout" : "stderr", e.toString());
        }
    }

    @Override
    public String toString() {
        return "job " + spec.jobId() + " (pid " + pid + (cgroup == null ? "" : ", cgroup " + cgroup) + ")";
    }

    /** Stdin that is flushed on every write, so interactive input reaches the job at once. */
    private static final class FlushingStream extends FilterOutputStream {
        FlushingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            out.flush();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            out.flush();
        }
    }
}
