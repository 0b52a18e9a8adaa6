package io.herd.executor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's cgroups: detection, one cgroup per job under
 * {@code <parent>/guests/<job>}, and the CPU share of all guests together.
 *
 * <h2>Layout</h2>
 * <pre>
 *  v2 (unified):  /sys/fs/cgroup/herd/guests/job-42          one tree; cpu, memory and pids
 *                                                            enabled down the chain
 *  v1 (legacy):   /sys/fs/cgroup/freezer/SELF/herd/guests/job-42
 *                 /sys/fs/cgroup/cpu/SELF/herd/guests/job-42   one directory per controller:
 *                 /sys/fs/cgroup/cpuacct/SELF/herd/guests/job-42  freezer, cpu, cpuacct,
 *                 /sys/fs/cgroup/memory/SELF/herd/guests/job-42   memory and pids, those mounted
 *                 /sys/fs/cgroup/pids/SELF/herd/guests/job-42
 * </pre>
 * {@code herd} is the parent name: {@code herd-<node>} when several daemons
 * share a machine. The guest CPU share is a quota on {@code guests}, so it caps
 * all guests together whatever their number.
 *
 * <p>On v1, SELF is the daemon's own cgroup in that hierarchy (from
 * {@code /proc/self/cgroup}): guests stay inside whatever limits the daemon
 * itself was started under (a systemd unit, a container), as a delegated
 * subtree should. On v2 the parent sits at the top of the tree instead: the
 * daemon's own cgroup holds the daemon, and v2 forbids enabling controllers
 * for children of a cgroup that has processes (the "no internal processes"
 * rule). A v2 machine whose top is not writable (a container without its own
 * cgroup namespace, a non-root daemon) has no job cgroups; see
 * {@link #available()} and the runner's fallback.
 *
 * <p>Detection prefers the hierarchy with the cpu controller: on a hybrid
 * systemd machine the v2 tree at {@code /sys/fs/cgroup/unified} usually has no
 * controllers and the v1 ones do the work.
 *
 * <p>The root and version can be given to the constructor, so tests run the
 * v2 layout against a fake directory tree. Thread-safe: every call is a few
 * file operations, idempotent where that makes sense.
 */
public final class Cgroups {

    private static final Logger log = LoggerFactory.getLogger(Cgroups.class);

    public enum Version { V1, V2, NONE }

    /** v1 controllers a job joins, in the order it joins them (freezer first, so a freeze can catch it early). */
    static final List<String> V1_CONTROLLERS = List.of("freezer", "cpu", "cpuacct", "memory", "pids", "blkio");
    /** v2 controllers enabled for guests (io only where the kernel offers it). */
    static final List<String> V2_CONTROLLERS = List.of("cpu", "memory", "pids", "io");
    /** v1 {@code cpu.shares} of all guests together: the kernel's minimum (the owner's cgroups have 1024). */
    static final long V1_GUEST_SHARES = 2;
    /** v2 {@code cpu.weight} of all guests together: the minimum (the owner's cgroups have 100). */
    static final long V2_GUEST_WEIGHT = 1;
    /** CFS period for the guest quota: 100 ms, the kernel default. */
    static final long PERIOD_US = 100_000;
    static final double MIN_CORES = 0.01;   // the kernel's minimum quota is 1 ms per period
    static final double MAX_CORES = 4096;

    private static final Duration KILL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration REMOVE_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration FREEZE_TIMEOUT = Duration.ofMillis(500);
    private static final long EMPTY_POLL_NANOS = 100_000;
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final String GUESTS = "guests";

    private final Version version;
    private final String parentName;
    /** v1: controller → its hierarchy's parent dir; v2: "" → the parent dir. Shared hierarchies share a path. */
    private final Map<String, Path> parents;
    private volatile boolean guestCpuPriority;
    /** v2: the mount root, where enabling controllers starts; null on v1. */
    private final Path v2Root;
    /** v2: the controllers the root offers. */
    private final Set<String> v2Available;
    /** NONE: why; else a note for describe(). */
    private final String reason;

    /**
     * Uses the cgroup tree at {@code root} as the given version, without
     * looking at the machine's mounts: for tests, and for an administrator
     * who knows better than detection. v1 expects one directory per
     * controller under {@code root} (missing ones are skipped); v2 reads the
     * offered controllers from {@code root/cgroup.controllers}.
     */
    public Cgroups(Path root, Version version, String parentName) {
        this(version, checkParentName(parentName), v1Parents(root, version, parentName),
                version == Version.V2 ? root : null,
                version == Version.V2 ? readControllers(root) : Set.of(), "configured at " + root);
        if (version == Version.NONE) throw new IllegalArgumentException("use Cgroups.none(reason) for no cgroups");
    }

    private Cgroups(Version version, String parentName, Map<String, Path> parents, Path v2Root,
                    Set<String> v2Available, String reason) {
        this.version = version;
        this.parentName = parentName;
        this.parents = parents;
        this.v2Root = v2Root;
        this.v2Available = v2Available;
        this.reason = reason;
        if (version == Version.V2) this.parents.put("", v2Root.resolve(parentName));
    }

    /** A node without cgroups; {@code why} shows in messages. */
    public static Cgroups none(String why) {
        return new Cgroups(Version.NONE, "herd", new LinkedHashMap<>(), null, Set.of(), why);
    }

    /** Detects this machine's cgroups with the parent {@code herd}. */
    public static Cgroups detect() {
        return detect("herd");
    }

    /** Detects this machine's cgroups; {@code parentName} such as {@code herd-node1}. */
    public static Cgroups detect(String parentName) {
        String mountinfo;
        String self;
        try {
            mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
            self = Files.readString(Path.of("/proc/self/cgroup"));
        } catch (IOException e) {
            return none("cannot read /proc/self/mountinfo or /proc/self/cgroup: " + e.getMessage());
        }
        return detect(parentName, mountinfo, self);
    }

    /** Detection from the text of {@code /proc/self/mountinfo} and {@code /proc/self/cgroup}. */
    static Cgroups detect(String parentName, String mountinfo, String selfCgroup) {
        checkParentName(parentName);
        Path v2Mount = null;
        Map<String, String[]> v1 = new LinkedHashMap<>();   // controller -> {mount point, mount root}
        for (String line : mountinfo.split("\n")) {
            String[] f = line.trim().split(" ");
            int dash = Arrays.asList(f).indexOf("-");
            if (dash < 5 || f.length < dash + 4) continue;
            String fstype = f[dash + 1];
            String mountRoot = unescape(f[3]);
            String mountPoint = unescape(f[4]);
            if (fstype.equals("cgroup2")) {
                if (v2Mount == null || mountPoint.equals("/sys/fs/cgroup")) v2Mount = Path.of(mountPoint);
            } else if (fstype.equals("cgroup")) {
                for (String opt : f[dash + 3].split(",")) {
                    if (V1_CONTROLLERS.contains(opt)) v1.putIfAbsent(opt, new String[] {mountPoint, mountRoot});
                }
            }
        }
        Set<String> v2Controllers = v2Mount == null ? Set.of() : readControllers(v2Mount);
        // Prefer the hierarchy that has the cpu controller, then whichever exists.
        boolean v2 = v2Controllers.contains("cpu")
                || (v2Mount != null && !v1.containsKey("cpu") && (v1.isEmpty() || !v2Controllers.isEmpty()));
        if (v2) {
            return new Cgroups(Version.V2, parentName, new LinkedHashMap<>(), v2Mount, v2Controllers,
                    "mounted at " + v2Mount);
        }
        if (!v1.isEmpty()) {
            Map<String, Path> parents = new LinkedHashMap<>();
            for (String controller : V1_CONTROLLERS) {
                String[] m = v1.get(controller);
                if (m == null) continue;
                String own = selfPath(selfCgroup, controller);
                if (!m[1].equals("/") && own.startsWith(m[1])) own = own.substring(m[1].length());
                Path dir = Path.of(m[0]);
                for (String seg : own.split("/")) if (!seg.isEmpty()) dir = dir.resolve(seg);
                parents.put(controller, dir.resolve(parentName));
            }
            return new Cgroups(Version.V1, parentName, parents, null, Set.of(), "legacy hierarchies");
        }
        return none("no cgroup or cgroup2 file system is mounted");
    }

    public Version version() {
        return version;
    }

    /** True when this node has a cgroup hierarchy herd can use (writability is found out on first use). */
    public boolean available() {
        return version != Version.NONE;
    }

    private volatile Boolean usable;

    /**
     * True when job cgroups can really be made here: found out once by creating and removing
     * one (a non-root daemon, a read-only tree or a container without its own cgroup namespace
     * has a hierarchy it cannot use).
     */
    public boolean usable() {
        Boolean u = usable;
        if (u != null) return u;
        boolean ok = false;
        if (available()) {
            String probe = "herd-probe-" + ProcessHandle.current().pid();
            try {
                create(probe);
                remove(probe);
                ok = true;
            } catch (RuntimeException e) {
                log.info("cgroups are not usable here: {}", e.getMessage());
            }
        }
        usable = ok;
        return ok;
    }

    /** One line for logs and {@code herd nodes}. */
    public String describe() {
        switch (version) {
            case V2:
                return "cgroup v2 " + reason + " (controllers: " + String.join(" ", v2Available)
                        + "), jobs under " + guestsDir("");
            case V1:
                return "cgroup v1 (controllers: " + String.join(" ", parents.keySet()) + "), jobs under "
                        + parents.values().iterator().next().resolve(GUESTS) + " and the same in each controller";
            default:
                return "no cgroups (" + reason + ")";
        }
    }

    // ----------------------------------------------------------------- job cgroups

    /**
     * Creates the job's cgroup (and the herd parent on first use); does
     * nothing when it exists.
     *
     * @throws UnsupportedOperationException without cgroups, or when they are not writable
     */
    public void create(String name) {
        LaunchSpec.checkCgroupName(name);
        requireAvailable("cannot create a cgroup for " + name);
        if (!guestsPrepared || !Files.isDirectory(guestsDir(version == Version.V1 ? parents.keySet().iterator().next() : ""))) {
            ensureGuests();   // once, and again if someone removed the guests' group
        }
        for (Path dir : jobDirs(name)) {
            try {
                Files.createDirectories(dir);
            } catch (IOException e) {
                throw failure("cannot create cgroup " + dir, e);
            }
        }
        if (version == Version.V1 && guestIoInForce > 0) ioJobAdded(name);
    }

    public boolean exists(String name) {
        return available() && Files.isDirectory(jobDirs(name).get(0));
    }

    /** Moves process {@code pid} (all its threads) into the job's cgroup, in every hierarchy. */
    public void place(String name, long pid) {
        for (Path procs : procsFiles(name)) write(procs, Long.toString(pid));
    }

    /**
     * v1 only: moves the calling thread (not its process) into the job's cgroup in every
     * hierarchy, so a process it forks now is born there ({@code ProcessRunner}: no shell in the
     * job's chain to join it). v1 keeps a cgroup per thread; v2 does not (a thread of a domain
     * cgroup cannot leave its process). Undone by {@link #leaveWithThisThread}, also when it
     * throws half-way.
     *
     * @throws UncheckedIOException when a hierarchy refuses the thread
     */
    void enterWithThisThread(String name) {
        if (version != Version.V1) throw new UnsupportedOperationException("only cgroup v1 keeps a cgroup per thread");
        for (Path dir : jobDirs(name)) write(dir.resolve("tasks"), "0");   // 0: the writing thread
    }

    /**
     * v1 only: moves the calling thread back to the daemon's own cgroup (where its parent group
     * {@code PARENT} is) in every hierarchy, and with it any other thread of this process that
     * was born in the job's cgroup meanwhile: a thread starts in its creator's cgroup, and
     * starting a process creates the JDK's "process reaper" thread when its pool has none idle.
     * Left there, a reaper serving other jobs would be frozen, killed and counted with this one.
     *
     * @throws UncheckedIOException when a hierarchy refuses it
     */
    void leaveWithThisThread(String name) {
        List<Path> home = new ArrayList<>();
        for (Path parent : new LinkedHashSet<>(parents.values())) home.add(parent.getParent().resolve("tasks"));
        Path tasks = jobDirs(name).get(0).resolve("tasks");
        try {
            for (String tid : Files.readAllLines(tasks)) {
                tid = tid.trim();
                if (tid.isEmpty() || !Files.exists(Path.of("/proc/self/task", tid))) continue;   // the job's own
                for (Path t : home) write(t, tid);
            }
        } catch (IOException e) {
            throw failure("cannot read " + tasks, e);
        }
        for (Path t : home) write(t, "0");
    }

    /**
     * Where the calling thread is: in the job's cgroup in every hierarchy ({@code inJob}), or in
     * none of this node's job cgroups; from {@code /proc/thread-self/cgroup}.
     */
    boolean thisThreadIs(String name, boolean inJob) {
        String text;
        try {
            text = Files.readString(Path.of("/proc/thread-self/cgroup"));
        } catch (IOException e) {
            return false;
        }
        String suffix = "/" + parentName + "/" + GUESTS + "/" + name;
        String anyJob = "/" + parentName + "/" + GUESTS + "/";
        int in = 0;
        for (String line : text.split("\n")) {
            if (line.endsWith(suffix)) in++;
            else if (line.contains(anyJob)) return false;
        }
        return inJob ? in >= jobDirs(name).size() : in == 0;
    }

    /** The files a process writes its pid into to join the job, in order. */
    List<Path> procsFiles(String name) {
        requireAvailable("no cgroup for " + name);
        List<Path> files = new ArrayList<>();
        for (Path dir : jobDirs(name)) files.add(dir.resolve("cgroup.procs"));
        return files;
    }

    /** True once {@code pid} is in the job's cgroup in every hierarchy (read from {@code /proc/PID/cgroup}). */
    boolean contains(String name, long pid) {
        String text;
        try {
            text = Files.readString(Path.of("/proc", Long.toString(pid), "cgroup"));
        } catch (IOException e) {
            return false;
        }
        String suffix = "/" + parentName + "/" + GUESTS + "/" + name;
        int in = 0;
        for (String line : text.split("\n")) if (line.endsWith(suffix)) in++;
        return in >= jobDirs(name).size();
    }

    /** The pids in the job's cgroup, in any hierarchy; empty when it does not exist. */
    public Set<Long> pids(String name) {
        Set<Long> pids = new TreeSet<>();
        if (!available()) return pids;
        for (Path dir : jobDirs(name)) pids.addAll(readPids(dir));
        return pids;
    }

    private static final long SELF = ProcessHandle.current().pid();

    private static Set<Long> readPids(Path cgroupDir) {
        Set<Long> pids = new TreeSet<>();
        try {
            for (String s : Files.readAllLines(cgroupDir.resolve("cgroup.procs"))) {
                if (!s.isBlank()) pids.add(Long.parseLong(s.trim()));
            }
        } catch (NoSuchFileException e) {
            // not created, or already removed
        } catch (IOException e) {
            // ENODEV: the cgroup was removed while being read (the job's exit path won the race): empty.
            if (!"No such device".equals(e.getMessage()) && Files.isDirectory(cgroupDir)) throw new UncheckedIOException(e);
        }
        return pids;
    }

    /**
     * The job cgroups in one controller's hierarchy, quickly: run on every job's start and end
     * (v1 splits the I/O budget again), where {@link #jobs()} would stat each of the dozens of
     * control files beside them. Control files have a dot in their name ({@code tasks} and
     * {@code notify_on_release} aside) and herd's job cgroups never do, so only the other
     * entries are checked for being directories.
     */
    private List<String> jobsIn(String key) {
        Path guests = guestsDir(key);
        List<String> names = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(guests,
                p -> isJobName(p.getFileName().toString()) && Files.isDirectory(p))) {
            for (Path p : ds) names.add(p.getFileName().toString());
        } catch (java.nio.file.NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Collections.sort(names);
        return names;
    }

    static boolean isJobName(String name) {
        return name.indexOf('.') < 0 && !name.equals("tasks") && !name.equals("notify_on_release");
    }

    /** The job cgroups that exist under this parent (a restarted daemon's leftovers, for instance). */
    public List<String> jobs() {
        if (!available()) return List.of();
        // Every controller's hierarchy: a removal cut short can leave a job's directory in some of them only.
        Set<String> names = new java.util.TreeSet<>();
        for (String key : parents.keySet()) {
            Path guests = guestsDir(key);
            if (!Files.isDirectory(guests)) continue;
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(guests, Files::isDirectory)) {
                for (Path p : ds) names.add(p.getFileName().toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return new ArrayList<>(names);
    }

    /**
     * CPU used by every process that ever ran in the job's cgroup, exited ones
     * included: v1 {@code cpuacct.usage} (ns), v2 {@code cpu.stat usage_usec}.
     * Empty without cpu accounting or when the cgroup does not exist.
     */
    public Optional<Duration> cpuTime(String name) {
        try {
            if (version == Version.V1 && parents.containsKey("cpuacct")) {
                Path f = parents.get("cpuacct").resolve(GUESTS).resolve(name).resolve("cpuacct.usage");
                return Optional.of(Duration.ofNanos(Long.parseLong(Files.readString(f).trim())));
            }
            if (version == Version.V2) {
                for (String line : Files.readAllLines(jobDirs(name).get(0).resolve("cpu.stat"))) {
                    if (line.startsWith("usage_usec ")) {
                        return Optional.of(Duration.ofNanos(Long.parseLong(line.substring(11).trim()) * 1000));
                    }
                }
            }
        } catch (IOException | NumberFormatException e) {
            log.debug("no CPU accounting for {}: {}", name, e.toString());
        }
        return Optional.empty();
    }

    /**
     * Freezes every process of the job (v1 freezer, v2 {@code cgroup.freeze})
     * and waits briefly for the kernel to finish; false when there is no
     * freezer or the freeze did not complete (tasks in uninterruptible sleep).
     */
    public boolean freeze(String name) {
        Path f = freezerFile(name);
        if (f == null || !writeUnlessGone(f, version == Version.V1 ? "FROZEN" : "1")) return false;
        long deadline = System.nanoTime() + FREEZE_TIMEOUT.toNanos();
        while (!frozen(name)) {
            if (System.nanoTime() > deadline) return false;
            pause(1);
        }
        return true;
    }

    /** True when the job's cgroup has a freezer (v1 freezer controller, v2 {@code cgroup.freeze}). */
    public boolean canFreeze(String name) {
        Path f = available() ? freezerFile(name) : null;
        return f != null && Files.exists(f);
    }

    /** True when every process of the job is frozen (v1 {@code freezer.state} FROZEN, v2 {@code cgroup.events} frozen 1). */
    public boolean isFrozen(String name) {
        return canFreeze(name) && frozen(name);
    }

    /**
     * CPU used so far by all guests together, exited ones included: v1 {@code cpuacct.usage}
     * of {@code guests}, v2 its {@code cpu.stat usage_usec}. Empty without cpu accounting or
     * before the first guest.
     */
    public OptionalLong guestsCpuNanos() {
        try {
            if (version == Version.V1 && parents.containsKey("cpuacct")) {
                return OptionalLong.of(Long.parseLong(read(guestsDir("cpuacct").resolve("cpuacct.usage"))));
            }
            if (version == Version.V2) {
                for (String line : Files.readAllLines(guestsDir("").resolve("cpu.stat"))) {
                    if (line.startsWith("usage_usec ")) return OptionalLong.of(Long.parseLong(line.substring(11).trim()) * 1000);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no guests yet, or no accounting
        }
        return OptionalLong.empty();
    }

    /**
     * Jobs of other herd nodes on this machine: the job directories under every other
     * {@code herd-*}{@code /guests} beside this node's parent (a demo, a benchmark or tests run
     * several nodes on one machine). Their load is not this machine's owner's, and a node
     * that counted it as such would look busier than it is. 0 without cgroups or when there
     * are none; two directory listings when there are none, so cheap enough for every sample.
     */
    public int otherNodesJobs() {
        if (version == Version.NONE || parents.isEmpty()) return 0;
        Path mine = parents.get(firstKey());
        Path hierarchy = mine.getParent();
        if (hierarchy == null) return 0;
        int n = 0;
        try (java.nio.file.DirectoryStream<Path> nodes = Files.newDirectoryStream(hierarchy, "herd-*")) {
            for (Path node : nodes) {
                if (node.equals(mine)) continue;
                Path guests = node.resolve(GUESTS);
                if (!Files.isDirectory(guests)) continue;
                try (java.nio.file.DirectoryStream<Path> jobs = Files.newDirectoryStream(guests, Files::isDirectory)) {
                    for (Path ignored : jobs) n++;
                } catch (IOException | java.nio.file.DirectoryIteratorException e) {
                    // that node removed its guests meanwhile
                }
            }
        } catch (IOException | java.nio.file.DirectoryIteratorException e) {
            return 0;
        }
        return n;
    }

    /**
     * Asks the kernel to freeze the job and returns at once (one write): the owner-comes-back
     * path, which freezes every guest before waiting for any. {@link #isFrozen} says when it is done.
     *
     * @return false without a freezer
     */
    public boolean startFreeze(String name) {
        Path f = freezerFile(name);
        return f != null && writeUnlessGone(f, version == Version.V1 ? "FROZEN" : "1");
    }

    /** Undoes {@link #freeze}; does nothing without a freezer, or once the job's cgroup is gone. */
    public void thaw(String name) {
        Path f = freezerFile(name);
        if (f != null) writeUnlessGone(f, version == Version.V1 ? "THAWED" : "0");
    }

    /**
     * Writes a job cgroup's control file; false when the cgroup is gone, also when it went while
     * being written (its job ended and the exit path removed it: then there is nothing to freeze
     * or thaw). Other failures throw as {@link #write} does.
     */
    private boolean writeUnlessGone(Path file, String value) {
        try {
            writeChecked(file, value);
            return true;
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            if (!Files.exists(file)) return false;   // ENODEV: removed while being written
            throw failure("cannot write " + value + " to " + file, e);
        }
    }

    private boolean frozen(String name) {
        try {
            if (version == Version.V1) return read(freezerFile(name)).equals("FROZEN");
            for (String line : Files.readAllLines(jobDirs(name).get(0).resolve("cgroup.events"))) {
                if (line.equals("frozen 1")) return true;
            }
            return false;
        } catch (IOException e) {
            return false;
        }
    }

    private Path freezerFile(String name) {
        if (version == Version.V1) {
            Path p = parents.get("freezer");
            return p == null ? null : p.resolve(GUESTS).resolve(name).resolve("freezer.state");
        }
        return version == Version.V2 ? jobDirs(name).get(0).resolve("cgroup.freeze") : null;
    }

    /**
     * Waits up to {@code grace} for the job's cgroup to empty by itself, and says whether it did:
     * at a job's end the processes still in it are often on their way out already (a sandbox's
     * own init outlives the bwrap process that reported the job's status by a moment), and
     * freezing and killing them would cost more than letting them go.
     */
    public boolean awaitEmpty(String name, Duration grace) {
        if (!available()) return true;
        Path dir = jobDirs(name).get(0);
        long deadline = System.nanoTime() + grace.toNanos();
        while (!readPids(dir).isEmpty()) {
            if (System.nanoTime() > deadline) return false;
            LockSupport.parkNanos(EMPTY_POLL_NANOS);
        }
        return true;
    }

    /**
     * SIGKILL to every process in the job's cgroup, however it got there
     * (double forks and setsid included), and waits until the cgroup is empty.
     * v2 with {@code cgroup.kill} (Linux 5.14+) lets the kernel do it
     * atomically; otherwise the cgroup is frozen so nothing can fork while its
     * pids are read and killed, then thawed so the kills take effect; repeated
     * until empty. Gives up with a warning after a few seconds (processes stuck
     * in uninterruptible sleep die when their I/O returns).
     */
    public void killAll(String name) {
        if (!available()) return;
        long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
        Path killFile = version == Version.V2 ? jobDirs(name).get(0).resolve("cgroup.kill") : null;
        boolean kernelKill = killFile != null && Files.exists(killFile);
        boolean first = true;
        while (true) {
            // Every process joins all hierarchies at once, so the first (v1: the freezer's) lists them all.
            Set<Long> pids = readPids(jobDirs(name).get(0));
            if (pids.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                log.warn("cgroup {} still holds processes {} after SIGKILL", name, pids);
                return;
            }
            if (kernelKill && first) {
                write(killFile, "1");
            } else if (!kernelKill) {
                boolean frozen = freeze(name);
                try {
                    for (long pid : frozen ? readPids(jobDirs(name).get(0)) : pids) {
                        if (pid != SELF) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } finally {
                    if (frozen || version == Version.V1) thaw(name);
                }
            }
            first = false;
            pause(1);
        }
    }

    /**
     * Removes the job's cgroup, retrying while its last processes finish
     * exiting; does nothing when it does not exist.
     *
     * @throws IllegalStateException when processes remain after a few seconds (call {@link #killAll} first)
     */
    public void remove(String name) {
        if (!available()) return;
        long deadline = System.nanoTime() + REMOVE_TIMEOUT.toNanos();
        for (Path dir : jobDirs(name)) {
            while (true) {
                try {
                    Files.deleteIfExists(dir);
                    break;
                } catch (DirectoryNotEmptyException e) {
                    throw new IllegalStateException(dir + " is not a cgroup (it holds files)", e);
                } catch (FileSystemException e) {   // EBUSY: tasks still attached
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("cgroup " + dir + " still holds processes " + pids(name)
                                + " after " + REMOVE_TIMEOUT.toSeconds() + " s; kill them first", e);
                    }
                    pause(2);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        if (version == Version.V1 && guestIoInForce > 0) raiseIoSoon();   // the others share the budget
    }

    /**
     * Removes {@code guests} and the herd parent (daemon shutdown, tests),
     * clearing the guest CPU share with them.
     *
     * @throws IllegalStateException while job cgroups remain
     */
    public void removeParent() {
        if (!available()) return;
        List<String> left = jobs();
        if (!left.isEmpty()) throw new IllegalStateException("job cgroups remain under " + parentName + ": " + left);
        for (Path parent : new LinkedHashSet<>(parents.values())) {
            try {
                Files.deleteIfExists(parent.resolve(GUESTS));
                // Upper segments of a nested parent name may be shared with other daemons: remove when empty.
                Path p = parent;
                for (int i = parentName.split("/").length; i > 0; i--, p = p.getParent()) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (FileSystemException e) {
                        break;
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Kills whatever is left in this parent's job cgroups, removes them, lifts the guest CPU cap
     * and removes the parent: what a daemon does at start (the jobs of a crashed previous life are
     * run again by their home nodes) and at stop, so nothing of herd's stays in the cgroup tree.
     * Best effort: what cannot be removed is logged and left.
     */
    public void removeAll() {
        if (!available()) return;
        for (String job : jobs()) {
            try {
                try {
                    killAll(job);
                } catch (RuntimeException partial) {
                    // gone from the first hierarchy already: nothing runs in it
                }
                remove(job);
            } catch (RuntimeException e) {
                log.warn("cannot remove leftover job cgroup {}: {}", job, e.toString());
            }
        }
        long deadline = System.nanoTime() + REMOVE_TIMEOUT.toNanos();
        while (true) {
            try {
                clearGuestCpuShare();
                removeParent();
                return;
            } catch (RuntimeException e) {
                // v1 controllers can stay busy for a moment after their last child went (exiting tasks).
                if (System.nanoTime() > deadline) {
                    log.warn("cannot remove cgroup parent {}: {}", parentName, e.toString());
                    return;
                }
                pause(20);
            }
        }
    }

    // ----------------------------------------------------------------- guest CPU share

    /**
     * Caps all guests together at {@code cores} CPUs (0.5 = half of one core):
     * v2 {@code cpu.max = "QUOTA 100000"}, v1 {@code cpu.cfs_period_us = 100000}
     * and {@code cpu.cfs_quota_us = QUOTA} on {@code guests}.
     *
     * @throws IllegalArgumentException outside 0.01-4096
     * @throws UnsupportedOperationException without a writable cpu controller
     */
    public void setGuestCpuShare(double cores) {
        if (!(cores >= MIN_CORES && cores <= MAX_CORES)) {
            throw new IllegalArgumentException("guest-cpus must be between " + MIN_CORES + " and "
                    + (int) MAX_CORES + " cores, not " + cores);
        }
        requireCpuController();
        ensureGuests();
        synchronized (this) {   // with setGuestCpuFactor: the file always holds policy × factor
            guestCpuPolicy = cores;
            writeGuestCpu(cores * guestCpuFactor);
        }
        log.info("guests limited to {} cores ({})", cores, describe());
    }

    /** The policy's cap on all guests' CPUs (0 = none) and the back-off's share of it (1 = all). */
    private double guestCpuPolicy;
    private double guestCpuFactor = 1;

    /**
     * Scales the CPU all guests together may use by {@code factor} (1 = the policy's cap, or all
     * cores without one): the back-off that slows guests taking memory faster than
     * {@code guest-mem-rate}. Never below {@value #MIN_CORES} cores. Does nothing without a
     * writable cpu controller; returns whether it is in force.
     */
    public boolean setGuestCpuFactor(double factor) {
        if (!(factor > 0 && factor <= 1)) throw new IllegalArgumentException("CPU factor must be in (0, 1]: " + factor);
        if (!available() || (version == Version.V1 && !parents.containsKey("cpu"))
                || (version == Version.V2 && !v2Available.contains("cpu"))) {
            return false;
        }
        ensureGuests();
        synchronized (this) {
            guestCpuFactor = factor;
            if (factor >= 1 && guestCpuPolicy == 0) {
                clearGuestCpuQuota();
            } else {
                double cores = guestCpuPolicy > 0 ? guestCpuPolicy : Runtime.getRuntime().availableProcessors();
                writeGuestCpu(Math.max(MIN_CORES, cores * factor));
            }
        }
        return true;
    }

    private void writeGuestCpu(double cores) {
        long quota = Math.max(Math.round(MIN_CORES * PERIOD_US), Math.round(cores * PERIOD_US));
        try {
            if (version == Version.V1) {
                Path g = guestsDir("cpu");
                writeChecked(g.resolve("cpu.cfs_period_us"), Long.toString(PERIOD_US));
                writeChecked(g.resolve("cpu.cfs_quota_us"), Long.toString(quota));
            } else {
                writeChecked(guestsDir("").resolve("cpu.max"), quota + " " + PERIOD_US);
            }
        } catch (IOException e) {
            throw failure("cannot set the guest CPU share", e);
        }
    }

    /** The guests' CPU cap in cores, empty when unlimited or without cgroups. */
    public OptionalDouble guestCpuShare() {
        try {
            if (version == Version.V1 && parents.containsKey("cpu")) {
                Path g = guestsDir("cpu");
                long quota = Long.parseLong(read(g.resolve("cpu.cfs_quota_us")));
                long period = Long.parseLong(read(g.resolve("cpu.cfs_period_us")));
                return quota <= 0 || period <= 0 ? OptionalDouble.empty() : OptionalDouble.of((double) quota / period);
            }
            if (version == Version.V2) {
                String[] max = read(guestsDir("").resolve("cpu.max")).split("\\s+");
                if (max[0].equals("max")) return OptionalDouble.empty();
                return OptionalDouble.of(Double.parseDouble(max[0]) / Double.parseDouble(max[1]));
            }
        } catch (IOException | RuntimeException e) {
            log.debug("no guest CPU share readable: {}", e.toString());
        }
        return OptionalDouble.empty();
    }

    /** Lifts the guests' CPU cap; does nothing when none is set (or there are no cgroups). */
    public synchronized void clearGuestCpuShare() {
        guestCpuPolicy = 0;
        if (guestCpuFactor < 1 && available() && !(version == Version.V1 && !parents.containsKey("cpu"))) {
            setGuestCpuFactor(guestCpuFactor);   // the back-off's share of all cores
            return;
        }
        clearGuestCpuQuota();
    }

    private void clearGuestCpuQuota() {
        if (!available() || (version == Version.V1 && !parents.containsKey("cpu"))) return;
        Path g = guestsDir(version == Version.V1 ? "cpu" : "");
        if (!Files.isDirectory(g)) return;
        try {
            if (version == Version.V1) writeChecked(g.resolve("cpu.cfs_quota_us"), "-1");
            else writeChecked(g.resolve("cpu.max"), "max " + PERIOD_US);
        } catch (IOException e) {
            throw failure("cannot clear the guest CPU share", e);
        }
    }

    // ----------------------------------------------------------------- guest disk I/O and memory

    /** Block devices that are not disks guests write to: loop, RAM and compressed-RAM disks, optical, floppy, NBD. */
    private static final Pattern NOT_A_DISK = Pattern.compile("(loop|ram|zram|sr|fd|nbd)[0-9]*");
    /** The smallest share of the I/O budget one throttled guest gets (1 MB/s): less cannot page in a program. */
    static final long MIN_IO_BPS = 1L << 20;
    /** The budget the pressure back-off scales when the policy sets none. */
    static final long BACKOFF_BASE_BPS = 50L << 20;

    private volatile Path sysBlock = Path.of("/sys/block");
    /** The policy's guest I/O budget, bytes per second per device; 0 = none. */
    private long guestIoBudget;
    /** The pressure back-off's factor on the budget, 1 = none. */
    private double guestIoFactor = 1;
    /** The per-device limit now in force (bytes per second, 0 = none), for {@code herd nodes} and tests. */
    private volatile long guestIoInForce;
    /** v1: how many jobs the budget was last split between; every job's share is at most the budget over this. */
    private int ioSplitFor = 1;
    private final java.util.concurrent.atomic.AtomicBoolean ioRaiseScheduled = new java.util.concurrent.atomic.AtomicBoolean();
    /** How long after a job's end the others get its share of the I/O budget (v1). */
    static final long IO_RAISE_DELAY_MS = 500;
    private static final java.util.concurrent.ScheduledExecutorService IO_TIMER =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "herd-cgroup-io");
                t.setDaemon(true);
                return t;
            });

    /** Reads block devices from {@code dir} instead of {@code /sys/block} (tests). */
    void useBlockDevices(Path dir) {
        this.sysBlock = dir;
    }

    /**
     * The disks guests may read and write, as {@code MAJ:MIN}: every device in {@code /sys/block}
     * (whole disks, device-mapper and md devices) except loop, RAM, zram, optical, floppy and NBD.
     * A limit on a whole disk covers its partitions.
     */
    public List<String> ioDevices() {
        long now = nanos.getAsLong();
        Devices known = devices;
        if (known != null && known.from == sysBlock && now - known.readAt < DEVICES_FRESH_NANOS) return known.list;
        List<String> devs = readIoDevices();
        devices = new Devices(sysBlock, now, devs);
        return devs;
    }

    /** The disks as last read, kept a few seconds: v1 re-applies the I/O split on every job's start and end. */
    private record Devices(Path from, long readAt, List<String> list) { }

    private volatile Devices devices;
    static final long DEVICES_FRESH_NANOS = TimeUnit.SECONDS.toNanos(10);
    /** The clock of the device list's freshness; a test's own in tests. */
    java.util.function.LongSupplier nanos = System::nanoTime;

    private List<String> readIoDevices() {
        List<String> devs = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(sysBlock)) {
            for (Path d : ds) {
                if (NOT_A_DISK.matcher(d.getFileName().toString()).matches()) continue;
                try {
                    String dev = read(d.resolve("dev"));
                    if (dev.matches("[0-9]+:[0-9]+")) devs.add(dev);
                } catch (IOException e) {
                    // not a device directory
                }
            }
        } catch (IOException e) {
            log.debug("cannot list block devices in {}: {}", sysBlock, e.toString());
        }
        Collections.sort(devs);
        return List.copyOf(devs);
    }

    /**
     * How this node can cap the guests' disk I/O, for {@code herd nodes}: {@code io.max}
     * (cgroup v2 with the io controller: hierarchical, one limit on the guests' group),
     * {@code blkio.throttle} (v1: per job, the budget split between running guests),
     * {@code weight} (only a low I/O weight, which mq-deadline and none ignore) or
     * {@code none}. Read from the kernel's files, never assumed.
     */
    public String ioControl() {
        if (version == Version.V2) {
            return v2Available.contains("io") ? "io.max" : "none";
        }
        if (version == Version.V1 && parents.containsKey("blkio")) {
            Path hierarchy = parents.get("blkio").getParent();
            if (Files.exists(hierarchy.resolve("blkio.throttle.write_bps_device"))) return "blkio.throttle";
            if (Files.exists(hierarchy.resolve("blkio.weight")) || Files.exists(hierarchy.resolve("blkio.bfq.weight"))) {
                return "weight";
            }
        }
        return "none";
    }

    /**
     * Caps the disk bandwidth of all guests together at {@code bytesPerSecond} per device, reads
     * and writes each (0 = no cap): v2 {@code io.max} on {@code guests}; v1
     * {@code blkio.throttle.read_bps_device} / {@code write_bps_device} on each job, the budget
     * divided between the running guests and divided again as guests come and go, cut at once
     * and grown again half a second later (v1 throttling is flat: a limit on a parent does not
     * reach its children).
     *
     * @throws UnsupportedOperationException without a usable I/O controller, saying what is missing
     */
    public void setGuestIo(long bytesPerSecond) {
        if (bytesPerSecond < 0) throw new IllegalArgumentException("negative I/O budget");
        if (bytesPerSecond > 0) requireIoController();
        synchronized (this) {
            guestIoBudget = bytesPerSecond;
        }
        applyIo();
    }

    /**
     * Scales the guests' I/O budget by {@code factor} (1 = the policy's budget, 0.25 = a quarter):
     * the owner's pressure back-off. Without a budget in the policy the back-off scales
     * {@value #BACKOFF_BASE_BPS} bytes per second. Does nothing without an I/O controller.
     */
    public void setGuestIoFactor(double factor) {
        if (!(factor > 0 && factor <= 1)) throw new IllegalArgumentException("I/O factor must be in (0, 1]: " + factor);
        if (ioControl().equals("none") || ioControl().equals("weight")) return;
        synchronized (this) {
            guestIoFactor = factor;
        }
        applyIo();
    }

    /** The per-device cap in force for all guests together, bytes per second; 0 = none. */
    public long guestIoInForce() {
        return guestIoInForce;
    }

    /** The per-device limit the budget and the back-off give now: 0 = none. */
    private synchronized long effectiveIo() {
        if (guestIoBudget == 0 && guestIoFactor >= 1) return 0;
        long base = guestIoBudget == 0 ? BACKOFF_BASE_BPS : guestIoBudget;
        return Math.max(MIN_IO_BPS, (long) (base * guestIoFactor));
    }

    /** Writes the limit in force into the kernel's files. */
    private synchronized void applyIo() {
        if (!available()) return;
        long bps = effectiveIo();
        String control = ioControl();
        if (!control.equals("io.max") && !control.equals("blkio.throttle")) {
            guestIoInForce = 0;
            return;
        }
        List<String> devices = ioDevices();
        if (version == Version.V2) {
            if (bps == 0 && guestIoInForce == 0 && !Files.isDirectory(guestsDir(""))) return;
            ensureGuests();
            Path file = guestsDir("").resolve("io.max");
            int ok = 0;
            for (String dev : devices) {
                String v = bps == 0 ? "rbps=max wbps=max" : "rbps=" + bps + " wbps=" + bps;
                if (writeIfPresentOrCreate(file, dev + " " + v)) ok++;
            }
            if (ok == 0 && bps > 0) {
                throw new UnsupportedOperationException("cannot cap guest I/O: " + file + " took no limit for the devices "
                        + devices + "; check that the io controller is enabled for " + guestsDir(""));
            }
        } else {
            List<String> jobs = jobsIn("blkio");
            ioSplitFor = Math.max(1, jobs.size());
            long each = bps == 0 ? 0 : Math.max(MIN_IO_BPS, bps / ioSplitFor);
            for (String job : jobs) throttleV1(job, devices, each);
        }
        guestIoInForce = bps;
    }

    /**
     * v1, a job's start: it gets the share the others have, as long as that keeps all of them
     * within the budget; only when there are more jobs than the budget was split between are all
     * shares cut at once. Shares grow again {@value #IO_RAISE_DELAY_MS} ms after jobs end
     * ({@link #raiseIoSoon}), so an array's jobs coming and going rewrite one job's rules each, not
     * every job's twice.
     */
    private synchronized void ioJobAdded(String name) {
        int jobs = jobsIn("blkio").size();
        if (jobs > ioSplitFor) {
            applyIo();
        } else if (guestIoInForce > 0) {
            throttleV1(name, ioDevices(), Math.max(MIN_IO_BPS, guestIoInForce / ioSplitFor));
        }
    }

    /** v1, a job's end: once the others have had a moment to follow, they share its part of the budget. */
    private void raiseIoSoon() {
        if (!ioRaiseScheduled.compareAndSet(false, true)) return;
        IO_TIMER.schedule(() -> {
            ioRaiseScheduled.set(false);
            try {
                synchronized (this) {
                    if (guestIoInForce > 0 && Math.max(1, jobsIn("blkio").size()) < ioSplitFor) applyIo();
                }
            } catch (RuntimeException e) {
                log.debug("cannot split the guest I/O budget again: {}", e.toString());
            }
        }, IO_RAISE_DELAY_MS, TimeUnit.MILLISECONDS);
    }

    /** v1: one job's throttle on every device; 0 removes the rule. */
    private void throttleV1(String job, List<String> devices, long bps) {
        Path dir = parents.get("blkio").resolve(GUESTS).resolve(job);
        if (!Files.isDirectory(dir)) return;
        for (String dev : devices) {
            for (String f : new String[] {"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device"}) {
                try {
                    appendRule(dir.resolve(f), dev + " " + bps);
                } catch (IOException e) {
                    // A rule that does not exist cannot be removed (EINVAL/ENODEV): nothing to lift.
                    if (bps > 0) log.debug("cannot throttle {} on {}: {}", job, dev, e.toString());
                }
            }
        }
    }

    /**
     * One rule per write, as the kernel takes {@code io.max} and {@code blkio.throttle.*} lines; appended,
     * so a fake tree (tests) keeps every line the kernel would have taken, and created there when missing.
     */
    private static void appendRule(Path file, String rule) throws IOException {
        if (Files.exists(file)) {
            Files.writeString(file, rule + "\n", StandardCharsets.US_ASCII, java.nio.file.StandardOpenOption.WRITE,
                    java.nio.file.StandardOpenOption.APPEND);
        } else {
            Files.writeString(file, rule + "\n", StandardCharsets.US_ASCII, java.nio.file.StandardOpenOption.CREATE_NEW);
        }
    }

    /** Writes one rule to a kernel file (created in a fake tree). False when the kernel refused. */
    private boolean writeIfPresentOrCreate(Path file, String value) {
        try {
            appendRule(file, value);
            return true;
        } catch (IOException e) {
            log.debug("cannot write {} to {}: {}", value, file, e.toString());
            return false;
        }
    }

    private void requireIoController() {
        String control = ioControl();
        if (control.equals("io.max") || control.equals("blkio.throttle")) return;
        String why = switch (version) {
            case NONE -> "cgroups are not available on this node (" + reason + ")";
            case V2 -> "cgroup v2 at " + v2Root + " offers no io controller (" + String.join(" ", v2Available) + ")";
            default -> parents.containsKey("blkio")
                    ? "the cgroup v1 blkio controller has no throttling (kernel built without CONFIG_BLK_DEV_THROTTLING)"
                    : "cgroup v1 without the blkio controller mounted";
        };
        throw new UnsupportedOperationException(why + "; guest-io needs cgroup v2 with the io controller or cgroup v1 "
                + "blkio throttling; set guest-io none to run guests without a disk cap");
    }

    /**
     * Bounds the memory of all guests together (0 = no bound): v2 {@code memory.max} on
     * {@code guests}, v1 {@code memory.limit_in_bytes} (hierarchical on every kernel herd runs on).
     * With RAM minus the owner's reserve, the owner keeps its working set and page cache whatever
     * the guests do: the kernel reclaims and, at worst, OOM-kills inside the guests' group.
     *
     * @throws UnsupportedOperationException without a memory controller
     */
    public void setGuestsMemoryMax(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("negative memory bound");
        if (version == Version.NONE || (version == Version.V1 && !parents.containsKey("memory"))
                || (version == Version.V2 && !v2Available.contains("memory"))) {
            if (bytes == 0) return;
            throw new UnsupportedOperationException("cannot bound the guests' memory: no memory controller (" + describe()
                    + "); owner-mem-reserve then only freezes guests when memory runs short");
        }
        ensureGuests();
        Path g = guestsDir(version == Version.V1 ? "memory" : "");
        String file = version == Version.V1 ? "memory.limit_in_bytes" : "memory.max";
        write(g.resolve(file), bytes == 0 ? (version == Version.V1 ? "-1" : "max") : Long.toString(bytes));
    }

    /**
     * Anonymous memory of all guests together, what they allocated (not their page cache): v2
     * {@code memory.stat anon}, v1 {@code memory.stat total_rss} (transparent huge pages included
     * in both); empty without a memory controller or before any guest ran.
     */
    public OptionalLong guestsAnonBytes() {
        if (version == Version.NONE || (version == Version.V1 && !parents.containsKey("memory"))) return OptionalLong.empty();
        Path stat = guestsDir(version == Version.V1 ? "memory" : "").resolve("memory.stat");
        try {
            if (!Files.exists(stat)) return OptionalLong.empty();
            long v = counter(stat, version == Version.V1 ? "total_rss" : "anon");
            return v < 0 ? OptionalLong.empty() : OptionalLong.of(v);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** The guests' group's memory bound in bytes; empty when none or unknown. */
    public OptionalLong guestsMemoryMax() {
        if (version == Version.NONE || (version == Version.V1 && !parents.containsKey("memory"))) return OptionalLong.empty();
        Path g = guestsDir(version == Version.V1 ? "memory" : "");
        try {
            String v = read(g.resolve(version == Version.V1 ? "memory.limit_in_bytes" : "memory.max"));
            if (v.equals("max")) return OptionalLong.empty();
            long l = Long.parseLong(v);
            return l <= 0 || l >= Long.MAX_VALUE / 2 ? OptionalLong.empty() : OptionalLong.of(l);
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    // ----------------------------------------------------------------- internals

    private void requireAvailable(String what) {
        if (!available()) {
            throw new UnsupportedOperationException(what + ": cgroups are not available on this node (" + reason + ")");
        }
    }

    private void requireCpuController() {
        String need = "; guest-cpus needs cgroup v1 or v2 with the cpu controller";
        if (version == Version.NONE) {
            throw new UnsupportedOperationException("cgroups are not available on this node (" + reason + ")" + need);
        }
        if (version == Version.V1 && !parents.containsKey("cpu")) {
            throw new UnsupportedOperationException(
                    "cgroups are not available on this node (cgroup v1 without the cpu controller mounted)" + need);
        }
        if (version == Version.V2 && !v2Available.contains("cpu")) {
            throw new UnsupportedOperationException("cgroups are not available on this node (cgroup v2 at " + v2Root
                    + " offers no cpu controller: " + String.join(" ", v2Available) + ")" + need);
        }
    }

    /** The guests' group was prepared (created, controllers handed down, lowest priority). */
    private volatile boolean guestsPrepared;

    /** Creates {@code <parent>/guests} in every hierarchy; on v2 enables the controllers along the way. */
    private void ensureGuests() {
        try {
            if (version == Version.V1) {
                for (Path parent : new LinkedHashSet<>(parents.values())) Files.createDirectories(parent.resolve(GUESTS));
                lowestPriority();
                guestsPrepared = true;
                return;
            }
            Path guests = guestsDir("");
            Files.createDirectories(guests);
            List<String> wanted = new ArrayList<>();
            for (String c : V2_CONTROLLERS) if (v2Available.contains(c)) wanted.add(c);
            if (wanted.isEmpty()) return;
            // Each level hands the controllers down to its children: root, every parent segment, guests.
            Path level = v2Root;
            List<Path> levels = new ArrayList<>(List.of(level));
            for (String seg : (parentName + "/" + GUESTS).split("/")) levels.add(level = level.resolve(seg));
            for (Path l : levels) {
                Path control = l.resolve("cgroup.subtree_control");
                Set<String> on = new LinkedHashSet<>();
                if (Files.exists(control)) {
                    for (String t : read(control).split("\\s+")) if (!t.isEmpty()) on.add(t.replace("+", ""));
                }
                StringBuilder add = new StringBuilder();
                for (String c : wanted) if (!on.contains(c)) add.append(add.length() == 0 ? "" : " ").append('+').append(c);
                if (add.length() > 0) writeChecked(control, add.toString());
            }
            lowestPriority();
            guestsPrepared = true;
        } catch (IOException e) {
            throw failure("cannot prepare the guests cgroup", e);
        }
    }

    /**
     * Puts all guests together at the lowest CPU and I/O priority, so the owner's processes
     * always come first: v2 {@code cpu.idle = 1} (SCHED_IDLE for the whole group, Linux 5.15+)
     * or else {@code cpu.weight = 1}, and {@code io.weight = 1}; v1 {@code cpu.shares = 2} and
     * {@code blkio.weight = 10} (or {@code blkio.bfq.weight = 1} under BFQ). A file the kernel
     * does not offer is skipped: the priority is the best this node has.
     */
    private void lowestPriority() {
        if (version == Version.V1) {
            if (parents.containsKey("cpu")) {
                guestCpuPriority = writeIfPresent(guestsDir("cpu").resolve("cpu.shares"), Long.toString(V1_GUEST_SHARES));
            }
            if (parents.containsKey("blkio")) {
                Path g = guestsDir("blkio");
                if (!writeIfPresent(g.resolve("blkio.weight"), "10")) writeIfPresent(g.resolve("blkio.bfq.weight"), "1");
            }
        } else if (version == Version.V2) {
            Path g = guestsDir("");
            guestCpuPriority = writeIfPresent(g.resolve("cpu.idle"), "1")
                    || writeIfPresent(g.resolve("cpu.weight"), Long.toString(V2_GUEST_WEIGHT));
            if (!writeIfPresent(g.resolve("io.weight"), "default 1")) writeIfPresent(g.resolve("io.bfq.weight"), "default 1");
        }
    }

    /**
     * Whether the guests' group has the lowest CPU priority in force (set when the guests' cgroup
     * is prepared): then {@code nice} adds nothing for a job in it, the group already yields to
     * every other process of the node.
     */
    public boolean guestCpuPriority() {
        return guestCpuPriority;
    }

    /** Writes {@code value} when {@code file} exists; false when it does not or the kernel refused it. */
    private static boolean writeIfPresent(Path file, String value) {
        if (!Files.exists(file)) return false;
        try {
            writeChecked(file, value);
            return true;
        } catch (IOException e) {
            log.debug("cannot write {} to {}: {}", value, file, e.toString());
            return false;
        }
    }

    // ----------------------------------------------------------------- per-job limits

    /**
     * Limits the job's memory and number of tasks. {@code memBytes} 0 = no memory limit;
     * {@code pidsMax} 0 = no pid limit. v2: {@code memory.max}, {@code memory.swap.max = 0}
     * (a guest over its limit is killed rather than pushing the host into swap),
     * {@code pids.max}; v1: {@code memory.limit_in_bytes}, {@code memory.memsw.limit_in_bytes}
     * the same (where swap accounting is on), {@code pids.max}. Call after {@link #create}
     * and before the job starts.
     *
     * @throws UnsupportedOperationException when a limit is asked for and its controller is missing
     */
    public void setLimits(String name, long memBytes, int pidsMax) {
        requireAvailable("cannot limit " + name);
        if (memBytes < 0 || pidsMax < 0) throw new IllegalArgumentException("negative limit");
        Path mem = controllerDir("memory", name);
        Path pids = controllerDir("pids", name);
        if (memBytes > 0) {
            if (mem == null || !Files.exists(mem.resolve(version == Version.V1 ? "memory.limit_in_bytes" : "memory.max"))) {
                throw new UnsupportedOperationException("cannot limit the memory of " + name + ": no memory controller ("
                        + describe() + ")");
            }
            // Reclaim starts below the limit, in the guest first: memory.high (v2), or the soft limit
            // v1 reclaims towards when the machine runs short.
            long high = memBytes - memBytes / 8;
            if (version == Version.V1) {
                write(mem.resolve("memory.limit_in_bytes"), Long.toString(memBytes));
                writeIfPresent(mem.resolve("memory.memsw.limit_in_bytes"), Long.toString(memBytes));
                writeIfPresent(mem.resolve("memory.soft_limit_in_bytes"), Long.toString(high));
            } else {
                write(mem.resolve("memory.max"), Long.toString(memBytes));
                writeIfPresent(mem.resolve("memory.swap.max"), "0");
                writeIfPresent(mem.resolve("memory.high"), Long.toString(high));
            }
        }
        if (pidsMax > 0) {
            if (pids == null || !Files.exists(pids.resolve("pids.max"))) {
                throw new UnsupportedOperationException("cannot limit the tasks of " + name + ": no pids controller ("
                        + describe() + ")");
            }
            write(pids.resolve("pids.max"), Integer.toString(pidsMax));
        }
    }

    /** The job's memory limit in bytes, empty when unlimited or unknown. */
    public OptionalLong memoryLimit(String name) {
        Path mem = controllerDir("memory", name);
        if (mem == null) return OptionalLong.empty();
        try {
            String v = read(mem.resolve(version == Version.V1 ? "memory.limit_in_bytes" : "memory.max"));
            if (v.equals("max")) return OptionalLong.empty();
            long l = Long.parseLong(v);
            return l <= 0 || l >= Long.MAX_VALUE / 2 ? OptionalLong.empty() : OptionalLong.of(l);
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * True when the kernel's OOM killer killed a process of the job because of its memory
     * limit: v2 {@code memory.events oom_kill}, v1 {@code memory.oom_control oom_kill}
     * (Linux 4.13+) or, on older kernels, a non-zero {@code memory.failcnt} (the limit was hit).
     * Read it before {@link #remove}.
     */
    public boolean oomKilled(String name) {
        OptionalLong kills = oomKills(name);
        if (kills.isPresent()) return kills.getAsLong() > 0;
        Path mem = controllerDir("memory", name);
        if (mem == null || version == Version.V2) return false;
        try {
            return Long.parseLong(read(mem.resolve("memory.failcnt"))) > 0;
        } catch (IOException | NumberFormatException e) {
            return false;
        }
    }

    /**
     * How many processes of the job the OOM killer killed over its limit: v2 {@code memory.events
     * oom_kill}, v1 {@code memory.oom_control oom_kill}; empty where the kernel does not count them
     * (v1 before Linux 4.13) or the job has no memory cgroup.
     */
    public OptionalLong oomKills(String name) {
        Path mem = controllerDir("memory", name);
        if (mem == null) return OptionalLong.empty();
        try {
            Path file = mem.resolve(version == Version.V2 ? "memory.events" : "memory.oom_control");
            long kills = Files.exists(file) ? counter(file, "oom_kill") : -1;
            return kills >= 0 ? OptionalLong.of(kills) : OptionalLong.empty();
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** The value of {@code key} in a flat-keyed cgroup file; -1 when absent. */
    private static long counter(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file)) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 2 && f[0].equals(key)) return Long.parseLong(f[1]);
        }
        return -1;
    }

    /** The job's directory in {@code controller}'s hierarchy (v2: the one tree); null without it. */
    private Path controllerDir(String controller, String name) {
        if (version == Version.V2) {
            return v2Available.contains(controller) ? guestsDir("").resolve(name) : null;
        }
        Path p = parents.get(controller);
        return p == null ? null : p.resolve(GUESTS).resolve(name);
    }

    private RuntimeException failure(String what, IOException e) {
        String why = e instanceof FileSystemException && ((FileSystemException) e).getReason() != null
                ? ((FileSystemException) e).getFile() + ": " + ((FileSystemException) e).getReason()
                : e.toString();
        boolean denied = e instanceof AccessDeniedException
                || why.contains("Operation not permitted") || why.contains("Read-only file system");
        if (denied) {
            return new UnsupportedOperationException(what + ": cgroups are not writable on this node (" + why
                    + "); per-job cgroups and guest-cpus need a daemon running as root or a delegated cgroup", e);
        }
        return new UncheckedIOException(what + " (" + why + ")", e);
    }

    /** The herd parent's directory in the hierarchy of {@code controller} (v2: the one tree); null when absent. */
    Path parentDir(String controller) {
        return version == Version.V2 ? parents.get("") : parents.get(controller);
    }

    private String firstKey() {
        return parents.keySet().iterator().next();
    }

    private Path guestsDir(String controller) {
        return parents.get(controller).resolve(GUESTS);
    }

    /** The job's directory in each distinct hierarchy, in joining order. */
    private List<Path> jobDirs(String name) {
        List<Path> dirs = new ArrayList<>();
        for (Path parent : new LinkedHashSet<>(parents.values())) dirs.add(parent.resolve(GUESTS).resolve(name));
        return dirs;
    }

    private void write(Path file, String value) {
        try {
            writeChecked(file, value);
        } catch (IOException e) {
            throw failure("cannot write " + value + " to " + file, e);
        }
    }

    private static void writeChecked(Path file, String value) throws IOException {
        Files.writeString(file, value, StandardCharsets.US_ASCII);
    }

    private static String read(Path file) throws IOException {
        return Files.readString(file, StandardCharsets.US_ASCII).trim();
    }

    private static void pause(long millis) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    private static Set<String> readControllers(Path root) {
        try {
            Set<String> set = new LinkedHashSet<>();
            for (String c : read(root.resolve("cgroup.controllers")).split("\\s+")) if (!c.isEmpty()) set.add(c);
            return set;
        } catch (IOException e) {
            return Set.of();
        }
    }

    private static Map<String, Path> v1Parents(Path root, Version version, String parentName) {
        Map<String, Path> parents = new LinkedHashMap<>();
        if (version != Version.V1) return parents;
        for (String controller : V1_CONTROLLERS) {
            Path dir = root.resolve(controller);
            if (!Files.isDirectory(dir)) continue;
            try {
                dir = dir.toRealPath();   // cpu and cpuacct are often one hierarchy behind two symlinks
            } catch (IOException e) {
                // keep the path as given
            }
            parents.put(controller, dir.resolve(parentName));
        }
        if (parents.isEmpty()) {
            throw new IllegalArgumentException("no cgroup v1 controller directory (" + V1_CONTROLLERS + ") under " + root);
        }
        return parents;
    }

    private static String selfPath(String selfCgroup, String controller) {
        for (String line : selfCgroup.split("\n")) {
            String[] f = line.split(":", 3);
            if (f.length == 3 && Arrays.asList(f[1].split(",")).contains(controller)) return f[2].trim();
        }
        return "/";
    }

    private static String checkParentName(String name) {
        for (String seg : name.split("/", -1)) {
            if (!SEGMENT.matcher(seg).matches()) {
                throw new IllegalArgumentException("cgroup parent '" + name
                        + "' must be a relative path of letters, digits, '.', '_' and '-'");
            }
        }
        return name;
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).chars().allMatch(Character::isDigit)) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return describe();
    }
}
