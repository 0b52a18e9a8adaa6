package io.herd.executor;

import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forks jobs from one long-lived {@code bash} per runner instead of from the JVM: the JVM's
 * own way cannot make a child a process-group leader, put it in a cgroup or give it default
 * signals, so every job used to pass through {@code setsid}, a shell that joins the cgroup and
 * {@code env --default-signal} before the program: three executions of about a millisecond of
 * CPU each on a small machine, most of an owner job's cost. Here the launcher ({@code
 * launcher.bash}) runs under {@code set -m}, so each job it forks leads its own process group;
 * the forked shell joins the job's cgroups with a builtin {@code echo}, sets the job's
 * environment and executes the program.
 *
 * <p>The launcher itself is started once, through {@code env --default-signal} (the JVM blocks
 * SIGQUIT, and children inherit that) and {@code setsid} (a session of its own, without a
 * controlling terminal, which the jobs share). Its stdin carries requests, its stdout events.
 * Each job's stdout and stderr (and stdin, when piped) are named pipes made in batches by one
 * {@code mkfifo} in a private directory; each is unlinked once both ends are open. The
 * launcher's end of stdin is the JVM's: when the daemon dies the launcher reads end-of-file
 * and exits, and the sandboxes it forked die with it ({@code --die-with-parent}), as they did
 * with the JVM.
 *
 * <p>If the launcher dies, the jobs it started keep running but their exit status is lost:
 * each ends with the failure {@link #LOST_STATUS}, and the next job starts a new launcher.
 */
final class ShellLauncher implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ShellLauncher.class);

    /** The failure of a job whose launcher died before it did. */
    static final String LOST_STATUS = "herd's job launcher died while the job ran; its exit status is lost";
    /** Exit code given to such a job (as a shell reports a failed command it cannot run). */
    static final int LOST_CODE = 255;
    private static final long START_TIMEOUT_MILLIS = 10_000;
    private static final int FIFO_BATCH = 96;
    /** Variables bash treats specially: a job asking for one of these is started the JVM's way. */
    private static final Set<String> BASH_SPECIAL = Set.of("SHELLOPTS", "BASHOPTS", "EUID", "UID", "PPID", "GROUPS",
            "FUNCNAME", "RANDOM", "SRANDOM", "SECONDS", "LINENO", "HISTCMD", "EPOCHSECONDS", "EPOCHREALTIME",
            "DIRSTACK", "PIPESTATUS", "OPTIND", "OPTARG", "OPTERR", "IFS", "POSIXLY_CORRECT", "COMP_WORDBREAKS",
            "HOSTNAME", "HOSTTYPE", "MACHTYPE", "OSTYPE", "SHLVL", "PS4", "TMOUT", "CDPATH", "GLOBIGNORE", "FIGNORE");
    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private static final ExecutorService IO = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "herd-exec-fifo");
        t.setDaemon(true);
        return t;
    });
    /** Wakes the launcher for jobs whose output has ended but whose exit it has not reported yet. */
    private static final java.util.concurrent.ScheduledExecutorService NUDGE = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "herd-exec-launcher-nudge");
        t.setDaemon(true);
        return t;
    });
    /** First look after a job's output ended; then twice as long each time, up to a second. */
    private static final long NUDGE_MILLIS = 20;

    private final List<String> prefix;
    private final Path mkfifo;
    private final String script;
    private final Charset charset;
    private Path fifoDir;
    private final ArrayDeque<Path> fifos = new ArrayDeque<>();
    private long fifoSerial;

    /** The running launcher, or null before the first job and after it died. */
    private Instance instance;
    private long nextKey = 1;
    private boolean closed;

    /**
     * @param prefix what runs the launcher's bash ({@code env --default-signal setsid}, or part
     *               of it where missing); the bash path last
     * @param mkfifo the program that makes the named pipes
     */
    ShellLauncher(List<String> prefix, Path mkfifo) {
        this.prefix = List.copyOf(prefix);
        this.mkfifo = mkfifo;
        this.script = loadScript();
        String jnu = System.getProperty("sun.jnu.encoding");
        this.charset = jnu != null && Charset.isSupported(jnu) ? Charset.forName(jnu) : Charset.defaultCharset();
    }

    /** Whether a job with this environment can start here (bash must be able to export each name as is). */
    static boolean canCarry(Map<String, String> env) {
        for (String name : env.keySet()) {
            if (!NAME.matcher(name).matches() || name.startsWith("BASH") || BASH_SPECIAL.contains(name)) return false;
        }
        return true;
    }

    /** What the launcher's forked shell does before the program. */
    record Request(List<Path> procsFiles, boolean ignoreSignals, Path workDir, Map<String, String> env,
                   boolean stdinPiped, List<String> command) {
    }

    /**
     * Forks a job; returns once its process exists (its cgroup joins, stdin and program follow
     * within moments; see {@link LocalProcess#confirmLaunch}).
     */
    Process start(Request r) throws IOException {
        Job job;
        synchronized (this) {
            if (closed) throw new IOException("the job launcher is closed");
            Instance in = running();
            Path out = fifo();
            Path err = fifo();
            Path stdin = r.stdinPiped() ? fifo() : null;
            long key = nextKey++;
            job = new Job(in, key, out, err, stdin);
            in.jobs.put(key, job);
            List<String> words = new ArrayList<>();
            words.add(Long.toString(key));
            words.add(stdin == null ? "/dev/null" : stdin.toString());
            words.add(out.toString());
            words.add(err.toString());
            words.add(r.ignoreSignals() ? "ignore" : "keep");
            words.add(Integer.toString(r.procsFiles().size()));
            for (Path p : r.procsFiles()) words.add(p.toString());
            words.add(r.workDir().toString());
            words.add(Integer.toString(r.env().size()));
            r.env().forEach((k, v) -> words.add(k + "=" + v));
            words.addAll(r.command());
            try {
                in.requests.write(request(words, charset));
                in.requests.flush();
                in.wake();
            } catch (IOException e) {
                in.jobs.remove(key);
                job.abandonPipes();
                in.died("its stdin failed: " + e.getMessage());
                throw new IOException("the job launcher is gone (" + e.getMessage() + ")", e);
            }
        }
        if (stdinOpenEagerly(job)) job.openStdinInBackground();
        try {
            awaitFork(job);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the job launcher forked");
        } catch (ExecutionException e) {
            job.abandonPipes();
            throw new IOException(e.getCause().getMessage(), e.getCause());
        } catch (TimeoutException e) {
            job.abandonPipes();
            throw new IOException("the job launcher did not fork within " + START_TIMEOUT_MILLIS / 1000 + " s");
        }
        return job;
    }

    /**
     * Waits for the launcher to fork the job, waking it again now and then: a wake-up that
     * arrives while its trap is finishing may find the request not yet readable.
     */
    private static void awaitFork(Job job) throws InterruptedException, ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
        long pause = 20;
        while (true) {
            try {
                job.pid.get(pause, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                if (System.nanoTime() > deadline) throw e;
                job.instance.wake();
                pause = Math.min(500, pause * 2);
            }
        }
    }

    private static boolean stdinOpenEagerly(Job job) {
        return job.stdinPath != null;
    }

    /** One request: the words in single quotes (each {@code '} as {@code '\''}), NUL-terminated. */
    static byte[] request(List<String> words, Charset charset) {
        StringBuilder b = new StringBuilder();
        for (String w : words) {
            if (w.indexOf('\0') >= 0) throw new IllegalArgumentException("a NUL byte in " + w);
            if (b.length() > 0) b.append(' ');
            b.append('\'').append(w.replace("'", "'\\''")).append('\'');
        }
        b.append('\0');
        return b.toString().getBytes(charset);
    }

    /** The launcher, started if it is not running. Caller holds the lock. */
    private Instance running() throws IOException {
        if (instance != null && instance.alive) return instance;
        Path wakePath = fifo();
        // Read and write: opening a named pipe so does not wait for the other end (Linux).
        java.io.RandomAccessFile wake = new java.io.RandomAccessFile(wakePath.toFile(), "rw");
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of("--norc", "--noprofile", "-c", script, "herd-launcher", wakePath.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(new java.io.File("/"));
        pb.environment().clear();
        Process p;
        try {
            p = ProcessRunner.startOnLauncher(pb);
        } catch (IOException e) {
            wake.close();
            throw e;
        }
        Instance in = new Instance(p, wake);
        try {
            in.ready.get(START_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while the job launcher started");
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            in.closeWake();
            throw new IOException("the job launcher did not start"
                    + (e instanceof ExecutionException ? ": " + e.getCause().getMessage() : " within " + START_TIMEOUT_MILLIS / 1000 + " s"));
        }
        Files.deleteIfExists(wakePath);   // both ends are open
        instance = in;
        log.debug("job launcher started (pid {})", p.pid());
        return in;
    }

    /** A fresh named pipe's path, from the current batch or a new one. Caller holds the lock. */
    private Path fifo() throws IOException {
        if (fifos.isEmpty()) {
            if (fifoDir == null) {
                fifoDir = Files.createTempDirectory("herd-fifos-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            }
            List<String> cmd = new ArrayList<>(List.of(mkfifo.toString(), "-m", "600", "--"));
            List<Path> batch = new ArrayList<>();
            for (int i = 0; i < FIFO_BATCH; i++) {
                Path f = fifoDir.resolve(Long.toString(fifoSerial++));
                batch.add(f);
                cmd.add(f.toString());
            }
            Process mk = ProcessRunner.startOnLauncher(new ProcessBuilder(cmd).redirectErrorStream(true));
            String said;
            try (InputStream in = mk.getInputStream()) {
                said = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
            }
            try {
                if (mk.waitFor() != 0) throw new IOException("mkfifo failed: " + said);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while making named pipes");
            }
            fifos.addAll(batch);
        }
        return fifos.poll();
    }

    /** Ends the launcher (running jobs keep running; their statuses are lost) and removes the pipes. */
    @Override
    public void close() {
        Instance in;
        synchronized (this) {
            if (closed) return;
            closed = true;
            in = instance;
        }
        if (in != null) in.close();
        Path dir = fifoDir;
        if (dir != null) {
            try (var list = Files.list(dir)) {
                for (Path f : list.toList()) Files.deleteIfExists(f);
                Files.deleteIfExists(dir);
            } catch (IOException e) {
                log.debug("could not remove {}: {}", dir, e.toString());
            }
        }
    }

    /** Pid of the running launcher, or -1 (for tests). */
    synchronized long launcherPid() {
        return instance != null && instance.alive ? instance.process.pid() : -1;
    }

    private static String loadScript() {
        try (InputStream in = ShellLauncher.class.getResourceAsStream("launcher.bash")) {
            if (in == null) throw new IllegalStateException("launcher.bash is missing from herd's jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One launcher process, its request pipe and its jobs. */
    private final class Instance {
        final Process process;
        final OutputStream requests;
        final Map<Long, Job> jobs = new ConcurrentHashMap<>();
        final CompletableFuture<Void> ready = new CompletableFuture<>();
        /** What the launcher said on stderr last (why it would not start). */
        private volatile String lastComplaint = "";
        volatile boolean alive = true;
        private final java.util.concurrent.atomic.AtomicBoolean dying = new java.util.concurrent.atomic.AtomicBoolean();

        private final java.io.RandomAccessFile wakePipe;

        Instance(Process process, java.io.RandomAccessFile wakePipe) {
            this.process = process;
            this.wakePipe = wakePipe;
            this.requests = process.getOutputStream();
            Thread events = new Thread(this::readEvents, "herd-exec-launcher-events");
            events.setDaemon(true);
            events.start();
            Thread errors = new Thread(this::readComplaints, "herd-exec-launcher-log");
            errors.setDaemon(true);
            errors.start();
        }

        private void readEvents() {
            String why = "it exited";
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.equals("R")) {
                        ready.complete(null);
                        continue;
                    }
                    String[] f = line.split(" ");
                    Job j = null;
                    try {
                        if (f.length == 3) j = jobs.get(Long.parseLong(f[1]));
                        if (j != null && f[0].equals("S")) {
                            j.pid.complete(Long.parseLong(f[2]));
                        } else if (j != null && f[0].equals("E")) {
                            int code = Integer.parseInt(f[2]);
                            jobs.remove(j.key);
                            j.exited(code, false);
                        } else {
                            j = null;
                        }
                    } catch (NumberFormatException e) {
                        j = null;
                    }
                    if (j == null) log.warn("job launcher: unexpected event '{}'", line);
                }
            } catch (IOException | RuntimeException e) {
                why = e.toString();
            }
            died(why);
        }

        private void readComplaints() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), charset))) {
                String line;
                while ((line = r.readLine()) != null) {
                    lastComplaint = line;
                    log.warn("job launcher: {}", line);
                }
            } catch (IOException e) {
                // gone with the launcher
            }
        }

        /** Tells the launcher to look for requests and ended jobs: a byte into its wake pipe. */
        void wake() {
            synchronized (wakePipe) {
                try {
                    wakePipe.write('w');
                } catch (IOException e) {
                    log.debug("cannot wake the job launcher: {}", e.toString());
                }
            }
        }

        void closeWake() {
            synchronized (wakePipe) {
                try {
                    wakePipe.close();
                } catch (IOException e) {
                    // nothing to do
                }
            }
        }

        /** The launcher is gone: every job it forked ends with its status lost, once its process ends. */
        void died(String why) {
            if (!dying.compareAndSet(false, true)) return;
            alive = false;
            ready.completeExceptionally(new IOException(lastComplaint.isEmpty() ? why : lastComplaint));
            if (!closed) log.warn("job launcher (pid {}) is gone ({}); {} running job(s) lose their exit status",
                    process.pid(), why, jobs.size());
            process.destroyForcibly();
            closeWake();
            for (Job j : jobs.values()) {
                if (!j.pid.isDone()) {
                    j.pid.completeExceptionally(new IOException("the job launcher died before it forked the job"));
                    continue;
                }
                ProcessHandle.of(j.pid.join()).ifPresentOrElse(
                        h -> h.onExit().thenRun(() -> j.exited(LOST_CODE, true)),
                        () -> j.exited(LOST_CODE, true));
            }
            jobs.clear();
        }

        void close() {
            try {
                requests.close();
            } catch (IOException e) {
                // already gone
            }
            closeWake();   // end-of-file on the wake pipe wakes it, and it finds the end of its stdin
            try {
                if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A job forked by the launcher, as a {@link Process}: its streams are the named pipes. */
    final class Job extends Process {
        private final Instance instance;
        final long key;
        final CompletableFuture<Long> pid = new CompletableFuture<>();
        private final CompletableFuture<Integer> exit = new CompletableFuture<>();
        private volatile boolean statusLost;
        private final FifoIn stdout;
        private final FifoIn stderr;
        private final Path stdinPath;
        private final CompletableFuture<OutputStream> stdinOpen = new CompletableFuture<>();
        private final OutputStream stdin;

        private final java.util.concurrent.atomic.AtomicInteger outputsEnded = new java.util.concurrent.atomic.AtomicInteger();

        Job(Instance instance, long key, Path out, Path err, Path in) {
            this.instance = instance;
            this.key = key;
            this.stdout = new FifoIn(out, this::outputEnded);
            this.stderr = new FifoIn(err, this::outputEnded);
            this.stdinPath = in;
            this.stdin = in == null ? OutputStream.nullOutputStream() : new FifoOut();
        }

        void openStdinInBackground() {
            IO.execute(() -> {
                try {
                    FileOutputStream o = new FileOutputStream(stdinPath.toFile());
                    Files.deleteIfExists(stdinPath);
                    stdinOpen.complete(o);
                } catch (IOException e) {
                    stdinOpen.completeExceptionally(e);
                }
            });
        }

        /**
         * Both outputs at end-of-file: the job has most likely ended. The launcher reports an exit
         * when its {@code wait -n} returns; a job that ended in the moment before that call may be
         * put away by bash where wait -n does not see it, so the launcher is woken to look, until
         * the exit is in.
         */
        private void outputEnded() {
            if (outputsEnded.incrementAndGet() == 2) nudgeLater(NUDGE_MILLIS);
        }

        private void nudgeLater(long millis) {
            NUDGE.schedule(() -> {
                if (exit.isDone() || !instance.alive) return;
                instance.wake();
                nudgeLater(Math.min(1000, millis * 2));
            }, millis, TimeUnit.MILLISECONDS);
        }

        void exited(int code, boolean lost) {
            statusLost = lost;
            if (exit.complete(code)) abandonPipes();
        }

        /**
         * Opens the other end of every pipe the job never opened (it died first, or never
         * started), so the daemon's side does not wait for it for ever.
         */
        void abandonPipes() {
            stdout.abandon();
            stderr.abandon();
            if (stdinPath != null && !stdinOpen.isDone()) {
                IO.execute(() -> {
                    try (InputStream unblock = Files.newInputStream(stdinPath)) {
                        Files.deleteIfExists(stdinPath);
                    } catch (IOException e) {
                        log.debug("could not release {}: {}", stdinPath, e.toString());
                    }
                });
            }
        }

        /** True when the launcher died first and the exit code is made up ({@link #LOST_STATUS}). */
        boolean statusLost() {
            return statusLost;
        }

        @Override
        public long pid() {
            return pid.getNow(-1L);
        }

        @Override
        public OutputStream getOutputStream() {
            return stdin;
        }

        @Override
        public InputStream getInputStream() {
            return stdout;
        }

        @Override
        public InputStream getErrorStream() {
            return stderr;
        }

        @Override
        public int waitFor() throws InterruptedException {
            try {
                return exit.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
            try {
                exit.get(timeout, unit);
                return true;
            } catch (TimeoutException e) {
                return false;
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public int exitValue() {
            Integer code = exit.getNow(null);
            if (code == null) throw new IllegalThreadStateException("job " + key + " is still running");
            return code;
        }

        @Override
        public boolean isAlive() {
            return !exit.isDone();
        }

        @Override
        public void destroy() {
            if (isAlive()) ProcessHandle.of(pid()).ifPresent(ProcessHandle::destroy);
        }

        @Override
        public Process destroyForcibly() {
            if (isAlive()) ProcessHandle.of(pid()).ifPresent(ProcessHandle::destroyForcibly);
            return this;
        }

        @Override
        public ProcessHandle toHandle() {
            return ProcessHandle.of(pid()).orElseThrow(() -> new IllegalStateException("job " + key + " is gone"));
        }

        @Override
        public String toString() {
            return "launched job " + key + " (pid " + pid() + ")";
        }

        /** The stdin the daemon writes: waits for the job to open its end first. */
        private final class FifoOut extends OutputStream {
            private OutputStream open() throws IOException {
                try {
                    return stdinOpen.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while the job opened its stdin");
                } catch (ExecutionException e) {
                    throw new IOException("the job's stdin could not be opened: " + e.getCause().getMessage(), e.getCause());
                }
            }

            @Override
            public void write(int b) throws IOException {
                open().write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                open().write(b, off, len);
            }

            @Override
            public void flush() throws IOException {
                open().flush();
            }

            @Override
            public void close() throws IOException {
                open().close();
            }
        }
    }

    /**
     * The daemon's end of a job's stdout or stderr, opened on the first read (opening a named
     * pipe waits for the writer); the pipe is unlinked once open. A plain read loop: the JDK's
     * {@code readAllBytes} seeks, which a pipe refuses.
     */
    private static final class FifoIn extends InputStream {
        private final Path path;
        private final Runnable atEnd;
        private final Object lock = new Object();
        private FileInputStream in;
        private volatile boolean opened;
        private boolean ended;

        FifoIn(Path path, Runnable atEnd) {
            this.path = path;
            this.atEnd = atEnd;
        }

        private FileInputStream open() throws IOException {
            synchronized (lock) {
                if (in == null) {
                    in = new FileInputStream(path.toFile());
                    opened = true;
                    Files.deleteIfExists(path);
                }
                return in;
            }
        }

        /** Releases a reader waiting in open() for a writer that will never come. */
        void abandon() {
            if (opened) return;   // the usual case: the job opened its end, so did the daemon
            IO.execute(() -> {
                // Not under the lock: a reader holds it while it waits in open for exactly this.
                // No CREATE: once both sides opened it the pipe is unlinked, and there is nothing to do.
                try (OutputStream unblock = Files.newOutputStream(path, java.nio.file.StandardOpenOption.WRITE)) {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    // already opened and unlinked by both sides
                }
            });
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = open().read(b, off, len);
            if (n < 0 && !ended) {
                ended = true;
                atEnd.run();
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            FileInputStream i;
            synchronized (lock) {
                i = in;
            }
            if (i != null) i.close();
        }
    }
}
