package io.herd.executor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guests' sandboxes kept running between jobs, so that a guest job enters a sandbox that is
 * already built ({@code nsenter} into its namespaces and root) instead of building one
 * (bubblewrap's mounts, namespaces and their teardown): guest jobs of {@code true} ran 1.44× as
 * fast and cost the machine 12.0 against 16.0 ms of CPU each, the daemons' included (BENCHMARKS.md,
 * session 15).
 *
 * <h2>What is shared, and with whom</h2>
 * A kept sandbox serves one job at a time, and only jobs of one owner (the home node and user:
 * {@link #acquire}'s {@code owner}) with the same network setting and the same directory. Between
 * two jobs it is made as a new one would be:
 * <ul>
 *   <li>the job's processes are gone: each job has its own cgroup, killed whole at its end, as
 *       in a fresh sandbox;</li>
 *   <li>its private directory ({@link Lease#dir()}, the job's working directory) is emptied and
 *       given back to root, and its {@code /tmp} and {@code /var/tmp} are emptied (the only other
 *       places a guest can write: {@code /dev/shm} and the hidden directories are root's);</li>
 *   <li>System V shared memory ends with its last user ({@code kernel.shm_rmid_forced=1} in the
 *       sandbox's IPC namespace). System V semaphores and message queues and POSIX message queues
 *       that a job leaves outlive it until the sandbox is closed; only the same owner's jobs can
 *       see them.</li>
 * </ul>
 * A sandbox left unused for {@link #IDLE} is closed. The sandbox's processes (bubblewrap's and
 * a {@code sleep} as its program) run as root, so no guest can end it; they die with the daemon
 * (bubblewrap's {@code --die-with-parent}, forked from the guests' launcher thread), and with
 * the sandbox's PID namespace every job inside it.
 *
 * <h2>Where it is used</h2>
 * Only where a guest's chain can enter it safely: bubblewrap works, the daemon is root and drops
 * to the guests' account with {@code setpriv}, jobs have cgroups (they kill a job whole, and find
 * the processes to forward a signal to), and {@code nsenter} and a GNU {@code env} that resets
 * signals are installed. Elsewhere, and with {@code -Dherd.warm-sandboxes=false}, each guest gets
 * a fresh sandbox as before. See {@link ProcessRunner} for the chain.
 */
public final class WarmSandboxes implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(WarmSandboxes.class);

    /** How long a kept sandbox waits unused for its owner's next job before it is closed. */
    public static final Duration IDLE = Duration.ofSeconds(5);
    /** Longest wait for a new sandbox to be built. */
    private static final long START_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final ProcessRunner runner;
    private final Sandbox sandbox;
    private final Path root;
    private final Path sleep;
    private final Path shell;
    private final Path nsenter;
    private final long idleMillis;
    private final LongSupplier clock;
    private final Map<Key, Deque<Holder>> idle = new HashMap<>();
    private final List<Holder> all = new ArrayList<>();
    private final AtomicLong seq = new AtomicLong();
    private final ScheduledFuture<?> reaper;
    private boolean closed;

    private record Key(String owner, boolean network, Path bind) {
    }

    /** One sandbox kept running: bubblewrap's outer process, and its init, whose namespaces jobs enter. */
    private static final class Holder {
        final Key key;
        final Path dir;
        final boolean privateDir;
        final Process outer;
        final long init;
        /** Where bubblewrap mounted things in it: fixed for its life (its jobs cannot mount). */
        final List<Path> mounts;
        long idleSince;
        int jobs;

        Holder(Key key, Path dir, boolean privateDir, Process outer, long init, List<Path> mounts) {
            this.key = key;
            this.dir = dir;
            this.privateDir = privateDir;
            this.outer = outer;
            this.init = init;
            this.mounts = mounts;
        }

        boolean alive() {
            return outer.isAlive() && ProcessHandle.of(init).map(ProcessHandle::isAlive).orElse(false);
        }

        /**
         * Whether the sandbox still sees the directory the host has at its path: a file system
         * mounted or unmounted there since (or the directory removed) would leave the job's files
         * where the job does not look.
         */
        boolean seesItsDirectory() {
            try {
                Path inside = Path.of("/proc", Long.toString(init), "root").resolve(Path.of("/").relativize(dir));
                return Files.isSameFile(dir, inside);
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
    }

    /** One job's use of a kept sandbox, from {@link #acquire} until {@link #release}. */
    public final class Lease {
        private final Holder holder;
        private boolean released;

        private Lease(Holder holder) {
            this.holder = holder;
        }

        /** The job's working directory: the sandbox's own (empty) directory, or the shared one it binds. */
        public Path dir() {
            return holder.dir;
        }

        /** The process whose namespaces, root and working directory the job enters. */
        long target() {
            return holder.init;
        }

        /** The sandbox is made ready for its owner's next job (or closed when it cannot be). Idempotent. */
        public void release() {
            synchronized (this) {
                if (released) return;
                released = true;
            }
            giveBack(holder);
        }

        @Override
        public String toString() {
            return "kept sandbox " + holder.dir + " (init " + holder.init + ")";
        }
    }

    WarmSandboxes(ProcessRunner runner, Sandbox sandbox, Path root, Path sleep, Path shell, Path nsenter,
                  long idleMillis, ScheduledExecutorService timer, LongSupplier clock) {
        this.runner = runner;
        this.sandbox = sandbox;
        this.root = root.toAbsolutePath().normalize();
        this.sleep = sleep;
        this.shell = shell;
        this.nsenter = nsenter;
        this.idleMillis = idleMillis;
        this.clock = clock;
        long period = Math.max(50, Math.min(1000, idleMillis / 2));
        this.reaper = timer.scheduleWithFixedDelay(this::closeIdle, period, period, TimeUnit.MILLISECONDS);
    }

    /**
     * A kept sandbox for one job of {@code owner}: an idle one of the same owner, network and
     * directory, or a new one. {@code bind} is the job's own directory when it runs in place
     * ({@code --shared}); null gives the sandbox a private, empty directory under the sandboxes' root.
     *
     * @throws IOException when a new sandbox cannot be built (the job then gets a fresh one)
     */
    public Lease acquire(String owner, boolean network, Path bind) throws IOException {
        Key key = new Key(Objects.requireNonNull(owner, "owner"), network, bind == null ? null : bind.toAbsolutePath().normalize());
        List<Holder> unusable = new ArrayList<>();
        try {
            synchronized (this) {
                if (closed) throw new IOException("the node is stopping");
                Deque<Holder> free = idle.get(key);
                while (free != null && !free.isEmpty()) {
                    Holder h = free.pop();
                    if (h.alive() && h.seesItsDirectory()) {
                        h.jobs++;
                        return new Lease(h);
                    }
                    forget(h);
                    unusable.add(h);
                }
            }
        } finally {
            unusable.forEach(WarmSandboxes::destroy);   // waits for processes to end: not under the lock
        }
        Holder h = start(key);
        boolean stopping;
        synchronized (this) {
            stopping = closed;
            if (!stopping) {
                all.add(h);
                h.jobs++;
            }
        }
        if (stopping) {
            destroy(h);
            throw new IOException("the node is stopping");
        }
        return new Lease(h);
    }

    /** Kept sandboxes now (in use or idle), for tests and logs. */
    public synchronized int size() {
        return all.size();
    }

    private Holder start(Key key) throws IOException {
        boolean privateDir = key.bind() == null;
        Path dir = privateDir ? root.resolve("warm-" + seq.incrementAndGet()) : key.bind();
        if (privateDir) {
            Files.createDirectories(dir);
            resetOwnership(dir);
        }
        List<String> cmd = new ArrayList<>(sandbox.wrap(dir, key.network()));
        cmd.addAll(List.of(sleep.toString(), "infinity"));
        // Not started in the directory: the sandbox's own working directory is set inside it, and a daemon-side
        // process sitting in it would keep the file system there from being unmounted.
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new java.io.File("/"))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", ProcessRunner.DEFAULT_PATH);
        Process outer = runner.startGuestHelper(pb);
        try {
            long init = awaitBuilt(outer);
            Holder h = new Holder(key, dir, privateDir, outer, init, mountPoints(init));
            forceShmRemoval(init);
            log.debug("kept sandbox {} for {} started (init {})", dir, key.owner(), init);
            return h;
        } catch (IOException | RuntimeException e) {
            outer.destroyForcibly();
            if (privateDir) deleteQuietly(dir);
            throw e;
        }
    }

    /**
     * The sandbox's init, once the sandbox is built: bubblewrap's init forks the program only after
     * the mounts are in place, so a grandchild of the outer process means it is ready.
     */
    private static long awaitBuilt(Process outer) throws IOException {
        long deadline = System.nanoTime() + START_TIMEOUT_NANOS;
        long pause = 100_000;
        while (true) {
            Optional<ProcessHandle> init = outer.toHandle().children().findFirst();
            if (init.isPresent() && init.get().children().findAny().isPresent()) return init.get().pid();
            if (!outer.isAlive()) {
                throw new IOException("a kept sandbox did not start (bwrap exit " + outer.exitValue() + ")");
            }
            if (System.nanoTime() > deadline) throw new IOException("a kept sandbox was not built within 10 s");
            LockSupport.parkNanos(pause);
            pause = Math.min(5_000_000, pause * 2);
        }
    }

    /** System V shared memory a job leaves goes with its last user, not with the sandbox. */
    private void forceShmRemoval(long init) {
        try {
            Process p = new ProcessBuilder(nsenter.toString(), "-t", Long.toString(init), "--ipc", "--", shell.toString(),
                    "-c", "echo 1 > /proc/sys/kernel/shm_rmid_forced").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).strip();
            if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                log.debug("kept sandbox: cannot set shm_rmid_forced ({})", out);
            }
        } catch (IOException e) {
            log.debug("kept sandbox: cannot set shm_rmid_forced: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void giveBack(Holder h) {
        synchronized (this) {
            if (closed) return;   // close() ended it
        }
        String why = h.alive() ? clean(h) : "it ended";
        synchronized (this) {
            if (!closed && why == null) {
                h.idleSince = clock.getAsLong();
                idle.computeIfAbsent(h.key, k -> new ArrayDeque<>()).push(h);
                return;
            }
            forget(h);
        }
        if (why != null) log.info("closing kept sandbox {}: {}", h.dir, why);
        destroy(h);
    }

    /** Empties what the last job could write to; null when done, else why the sandbox must go. */
    private String clean(Holder h) {
        try {
            Path sandboxRoot = Path.of("/proc", Long.toString(h.init), "root");
            for (Path scratch : sandbox.scratchDirs()) emptyAround(sandboxRoot, scratch, h.mounts);
            if (h.privateDir) {
                emptyAround(Path.of("/"), h.dir, List.of());   // on the host: nothing is mounted inside it
                resetOwnership(h.dir);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "cannot empty it: " + e;
        }
    }

    /**
     * Empties {@code dir} (a path as seen from {@code sandboxRoot}) but for the mount points
     * bubblewrap made there and the directories on their way: a hidden data directory or the job's own directory
     * under {@code /tmp} sits on such a directory, and removing it would unmount them.
     */
    private static void emptyAround(Path sandboxRoot, Path dir, List<Path> mounts) throws IOException {
        List<Path> children;
        try (var s = Files.list(sandboxRoot.resolve(Path.of("/").relativize(dir)))) {
            children = s.toList();
        }
        for (Path c : children) {
            Path inside = dir.resolve(c.getFileName().toString());
            if (mounts.contains(inside)) continue;
            if (mounts.stream().anyMatch(m -> m.startsWith(inside))) emptyAround(sandboxRoot, inside, mounts);
            else deleteTree(c);
        }
    }

    /** Where things are mounted in the sandbox of {@code init} (its mountinfo's fifth field). */
    static List<Path> mountPoints(long init) throws IOException {
        List<Path> points = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(init), "mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) points.add(Path.of(unescape(f[4])));
        }
        return points;
    }

    /** mountinfo writes space, tab, newline and backslash in paths as octal escapes ({@code \040}). */
    static String unescape(String field) {
        StringBuilder b = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).chars().allMatch(d -> d >= '0' && d <= '7')) {
                b.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    /** Deletes {@code p} and, for a directory, everything in it, without following symbolic links (as root: modes do not stop it). */
    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
        Files.walkFileTree(p, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) throws IOException {
                Files.deleteIfExists(f);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                if (e != null) throw e;
                Files.deleteIfExists(d);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }

    /** The private directory as a new sandbox's is: root's, 0755, until the next job's files are handed over. */
    private static void resetOwnership(Path dir) throws IOException {
        Files.setAttribute(dir, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(dir, "unix:gid", 0, LinkOption.NOFOLLOW_LINKS);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private void closeIdle() {
        List<Holder> old = new ArrayList<>();
        synchronized (this) {
            long now = clock.getAsLong();
            for (Deque<Holder> free : idle.values()) {
                free.removeIf(h -> {
                    boolean expired = now - h.idleSince >= idleMillis || !h.alive();
                    if (expired) old.add(h);
                    return expired;
                });
            }
            idle.values().removeIf(Deque::isEmpty);
            all.removeAll(old);
        }
        for (Holder h : old) {
            log.debug("closing kept sandbox {} after {} jobs", h.dir, h.jobs);
            destroy(h);
        }
    }

    private synchronized void forget(Holder h) {
        all.remove(h);
        Deque<Holder> free = idle.get(h.key);
        if (free != null) free.remove(h);
    }

    /** Ends the sandbox (its init and everything in its PID namespace die with bubblewrap) and removes its directory. */
    private static void destroy(Holder h) {
        // Its init first: bubblewrap's outer process then reaps it and exits, leaving no orphan for pid 1 to reap.
        ProcessHandle.of(h.init).ifPresent(ProcessHandle::destroyForcibly);
        try {
            if (!h.outer.waitFor(2, TimeUnit.SECONDS)) h.outer.destroyForcibly();
            if (!h.outer.waitFor(5, TimeUnit.SECONDS)) log.warn("kept sandbox {} did not end within 5 s", h.dir);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (h.privateDir) deleteQuietly(h.dir);
    }

    private static void deleteQuietly(Path dir) {
        try {
            deleteTree(dir);
        } catch (IOException e) {
            log.warn("cannot remove {}: {}", dir, e.toString());
        }
    }

    /** Closes every kept sandbox, in use or not (their jobs die with them). */
    @Override
    public void close() {
        List<Holder> every;
        synchronized (this) {
            if (closed) return;
            closed = true;
            every = new ArrayList<>(all);
            all.clear();
            idle.clear();
        }
        reaper.cancel(false);
        every.forEach(WarmSandboxes::destroy);
    }
}
