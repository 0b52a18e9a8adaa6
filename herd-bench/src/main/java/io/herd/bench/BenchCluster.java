package io.herd.bench;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.NodeInfo;
import io.herd.api.proto.NodesRequest;
import io.herd.api.proto.ShutdownRequest;
import io.herd.api.proto.TokenRequest;
import io.herd.cli.DaemonLauncher;
import io.herd.executor.Cgroups;
import io.herd.node.DataDir;
import io.herd.node.NodeSetup;
import io.herd.node.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A throw-away cluster of real daemons on 127.0.0.1 for benchmarks: init, token, joins and
 * daemons through the same code as the CLI (like ClusterBench and the tests' TestCluster).
 * Node names carry a per-run prefix, so the daemons' cgroups ({@code herd-<name>}) never meet
 * another cluster's on this machine. {@link #close()} stops every daemon, removes the cgroups
 * the daemons made and deletes the directory; it also runs from a shutdown hook (Ctrl-C).
 */
final class BenchCluster implements AutoCloseable {

    /**
     * The daemons' JVM options. The owner watch runs (its cost is part of what is measured) on a
     * file no one touches, not the keyboard; in a directory of its own, watched with inotify as
     * input devices are read (the data directory's own files change with every job).
     * {@code -Dherd.bench.daemon-opts="…"} adds more options, space-separated (for A/B runs of a
     * daemon option, or a profiler such as {@code -XX:StartFlightRecording=…}).
     */
    static final List<String> DAEMON_OPTIONS = daemonOptions();

    private static List<String> daemonOptions() {
        List<String> o = new ArrayList<>(List.of("-Dherd.ownerInput=owner/input"));
        String more = System.getProperty("herd.bench.daemon-opts", "").trim();
        if (!more.isEmpty()) o.addAll(List.of(more.split("\\s+")));
        return List.copyOf(o);
    }
    private final Path root;
    private final List<String> names = new ArrayList<>();
    private final List<DataDir> dirs = new ArrayList<>();
    private final Thread hook;
    private boolean closed;

    private BenchCluster(Path root) {
        this.root = root;
        this.hook = new Thread(this::cleanUp, "bench-cluster-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Starts {@code n} nodes and waits until the first sees all of them alive with their load vectors. */
    static BenchCluster start(int n) throws Exception {
        String prefix = "jb" + Long.toString(ProcessHandle.current().pid() % 46656, 36);
        BenchCluster c = new BenchCluster(Files.createTempDirectory("herd-jobsbench-"));
        try {
            int[] ports = Ports.freePairs(n);
            for (int i = 0; i < n; i++) {
                c.names.add(prefix + "-n" + (i + 1));
                c.dirs.add(new DataDir(c.root.resolve("n" + (i + 1))));
            }
            NodeSetup.init(c.dirs.get(0), c.names.get(0), "bench", new NodeSetup.Endpoint("127.0.0.1", ports[0], "127.0.0.1"));
            DaemonLauncher.start(c.dirs.get(0), Duration.ofSeconds(120), DAEMON_OPTIONS);
            if (n > 1) {
                String token = c.call(0, ControlRequest.newBuilder()
                        .setToken(TokenRequest.newBuilder().setTtlSeconds(600).setUses(n - 1)).build()).getToken().getToken();
                for (int i = 1; i < n; i++) {
                    NodeSetup.join(c.dirs.get(i), "127.0.0.1:" + ports[0], token, c.names.get(i),
                            new NodeSetup.Endpoint("127.0.0.1", ports[i], "127.0.0.1"), Clock.systemUTC());
                }
                ExecutorService pool = Executors.newFixedThreadPool(Math.min(n - 1, 4));
                try {
                    List<Future<?>> fs = new ArrayList<>();
                    for (int i = 1; i < n; i++) {
                        DataDir d = c.dirs.get(i);
                        fs.add(pool.submit(() -> DaemonLauncher.start(d, Duration.ofSeconds(180), DAEMON_OPTIONS)));
                    }
                    for (Future<?> f : fs) f.get();
                } finally {
                    pool.shutdownNow();
                }
            }
            c.awaitNodes(0, v -> v.getState().equals("alive") && v.getCores() > 0, Duration.ofSeconds(180));
            return c;
        } catch (Exception e) {
            c.close();
            throw e;
        }
    }

    Path root() { return root; }

    String name(int i) { return names.get(i); }

    Path data(int i) { return dirs.get(i).root(); }

    int size() { return names.size(); }

    ControlReply call(int node, ControlRequest req) throws IOException {
        return ControlClient.call(dirs.get(node).root(), req);
    }

    List<NodeInfo> nodes(int observer) throws IOException {
        return call(observer, ControlRequest.newBuilder().setNodes(NodesRequest.getDefaultInstance()).build()).getNodes().getNodesList();
    }

    /** Waits until {@code observer} sees every node of this cluster matching {@code test}. */
    void awaitNodes(int observer, Predicate<NodeInfo> test, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long ok = nodes(observer).stream().filter(v -> names.contains(v.getName()) && test.test(v)).count();
            if (ok == names.size()) return;
            if (System.nanoTime() > deadline) throw new IllegalStateException("node " + names.get(observer) + " did not see all "
                    + names.size() + " nodes as expected within " + timeout + ": " + nodes(observer));
            Thread.sleep(50); // the daemons are other processes: poll
        }
    }

    @Override
    public void close() {
        cleanUp();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // already shutting down: the hook runs (and finds nothing to do)
        }
    }

    private synchronized void cleanUp() {
        if (closed) return;
        closed = true;
        for (DataDir d : dirs) stopDaemon(d);
        for (int i = 0; i < names.size() && i < dirs.size(); i++) Cgroups.detect(dirs.get(i).cgroupName(names.get(i))).removeAll();
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            System.err.println("could not delete " + root + ": " + e.getMessage());
        }
    }

    /** A graceful shutdown first (the daemon clears its own state), then SIGKILL after 15 s. */
    private static void stopDaemon(DataDir d) {
        ProcessHandle p;
        try {
            if (!Files.exists(d.pidFile())) return;
            p = ProcessHandle.of(Long.parseLong(Files.readString(d.pidFile()).trim())).orElse(null);
        } catch (IOException | NumberFormatException e) {
            return;
        }
        if (p == null) return;
        try {
            ControlClient.call(d.root(), ControlRequest.newBuilder().setShutdown(ShutdownRequest.getDefaultInstance()).build());
            p.onExit().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            p.destroyForcibly();
            p.onExit().join();
        }
    }

    /** CPU time (user + system) the daemons have used so far, all of them together. */
    Duration daemonCpu() {
        return sum(this::daemonCpu);
    }

    private Duration sum(java.util.function.IntFunction<Duration> perNode) {
        Duration sum = Duration.ZERO;
        for (int i = 0; i < dirs.size(); i++) sum = sum.plus(perNode.apply(i));
        return sum;
    }

    /** CPU time (user + system) node {@code i}'s daemon has used so far (its JVM; not the jobs it starts). */
    Duration daemonCpu(int i) {
        long pid = pid(i);
        return pid <= 0 ? Duration.ZERO : ProcessHandle.of(pid).flatMap(p -> p.info().totalCpuDuration()).orElse(Duration.ZERO);
    }

    /** Node {@code i}'s daemon's pid from its pid file; 0 without one (such a daemon counts nothing). */
    private long pid(int i) {
        try {
            return Long.parseLong(Files.readString(dirs.get(i).pidFile()).trim());
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /** CPU time the daemons' JIT compiler threads have used so far, all of them together. */
    Duration daemonJitCpu() {
        return sum(this::daemonJitCpu);
    }

    /**
     * CPU time the JIT compiler threads of node {@code i}'s daemon have used so far (the part of
     * {@link #daemonCpu(int)} a daemon that has run for days no longer pays): from
     * {@code /proc/PID/task/*}{@code /stat} of the threads named {@code C1/C2 CompilerThre…}.
     */
    Duration daemonJitCpu(int i) {
        long ticks = 0;
        long pid = pid(i);
        if (pid <= 0) return Duration.ZERO;
        try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    int open = stat.indexOf('('), close = stat.lastIndexOf(')');
                    if (open < 0 || close < 0 || !stat.substring(open + 1, close).contains("CompilerThre")) continue;
                    String[] f = stat.substring(close + 2).split(" ");
                    ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);   // utime, stime (fields 14, 15)
                } catch (IOException | RuntimeException e) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException e) {
            return Duration.ZERO;   // the daemon is gone
        }
        return Duration.ofMillis(ticks * 1000 / CLOCK_TICKS);
    }

    /** USER_HZ: the unit of /proc's CPU times (100 on every Linux architecture herd runs on). */
    private static final long CLOCK_TICKS = 100;

    /** The cgroup parent of node {@code i} (see {@link DataDir#cgroupName}). */
    String cgroupName(int i) { return dirs.get(i).cgroupName(names.get(i)); }
}
