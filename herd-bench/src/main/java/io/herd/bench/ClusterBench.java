package io.herd.bench;

import static io.herd.bench.BenchArgs.intArg;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.NodesRequest;
import io.herd.api.proto.StatusReply;
import io.herd.api.proto.StatusRequest;
import io.herd.api.proto.TokenRequest;
import io.herd.cli.DaemonLauncher;
import io.herd.node.DataDir;
import io.herd.node.NodeSetup;
import io.herd.node.Ports;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * Cluster-level figures for BENCHMARKS.md, measured on real daemons on
 * 127.0.0.1: time to form an N-node cluster (init, token, N-1 joins, until
 * every node sees every node alive with its load vector), crash-detection
 * time (kill -9 until every other node shows it dead), and gossip traffic per
 * node per second.
 *
 * <pre>herd-bench/run ClusterBench --nodes 4 --crashes 5 --gossip-seconds 30</pre>
 */
public final class ClusterBench {

    public static void main(String[] args) throws Exception {
        int nodes = intArg(args, "--nodes", 4);
        int crashes = intArg(args, "--crashes", 5);
        int gossipSeconds = intArg(args, "--gossip-seconds", 30);
        Path root = Files.createTempDirectory("herd-bench-");
        List<DataDir> dirs = new ArrayList<>();
        try {
            long t0 = System.nanoTime();
            int[] ports = Ports.freePairs(nodes);
            for (int i = 0; i < nodes; i++) dirs.add(new DataDir(root.resolve("n" + (i + 1))));
            NodeSetup.init(dirs.get(0), "n1", "bench", new NodeSetup.Endpoint("127.0.0.1", ports[0], "127.0.0.1"));
            DaemonLauncher.start(dirs.get(0), Duration.ofSeconds(120));
            if (nodes > 1) {
                String token = ControlClient.call(dirs.get(0).root(), ControlRequest.newBuilder()
                        .setToken(TokenRequest.newBuilder().setTtlSeconds(600).setUses(nodes - 1)).build()).getToken().getToken();
                for (int i = 1; i < nodes; i++) {
                    NodeSetup.join(dirs.get(i), "127.0.0.1:" + ports[0], token, "n" + (i + 1),
                            new NodeSetup.Endpoint("127.0.0.1", ports[i], "127.0.0.1"), Clock.systemUTC());
                }
                ExecutorService pool = Executors.newFixedThreadPool(Math.min(nodes - 1, 4));
                try {
                    List<Future<?>> fs = new ArrayList<>();
                    for (int i = 1; i < nodes; i++) {
                        DataDir d = dirs.get(i);
                        fs.add(pool.submit(() -> DaemonLauncher.start(d, Duration.ofSeconds(180))));
                    }
                    for (Future<?> f : fs) f.get();
                } finally {
                    pool.shutdownNow();
                }
            }
            for (DataDir d : dirs) awaitAlive(d, nodes, Duration.ofSeconds(180));
            double formSeconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "formation: %d nodes in %.2f s (init + token + %d joins + all views complete)%n",
                    nodes, formSeconds, nodes - 1);

            // Gossip traffic: counters over a quiet window.
            List<StatusReply> before = new ArrayList<>();
            for (DataDir d : dirs) before.add(status(d));
            long w0 = System.nanoTime();
            Thread.sleep(gossipSeconds * 1000L); // measuring a rate over a fixed window, not synchronising
            double window = (System.nanoTime() - w0) / 1e9;
            double gossipSum = 0, gossipMax = 0, transportSum = 0, msgSum = 0;
            for (int i = 0; i < nodes; i++) {
                StatusReply a = before.get(i), b = status(dirs.get(i));
                double g = (b.getGossipBytesSent() - a.getGossipBytesSent()) / window;
                gossipSum += g;
                gossipMax = Math.max(gossipMax, g);
                msgSum += (b.getGossipMessagesSent() - a.getGossipMessagesSent()) / window;
                transportSum += (b.getTransportBytesSent() - a.getTransportBytesSent()) / window;
            }
            System.out.printf(Locale.ROOT, "gossip: %d nodes, %.0f s window: load-gossip payload %.0f B/s per node (max %.0f), "
                            + "%.1f msgs/s per node; all membership traffic (gossip + heartbeats + views, TLS payload) %.0f B/s per node%n",
                    nodes, window, gossipSum / nodes, gossipMax, msgSum / nodes, transportSum / nodes);

            // Crash detection: kill -9 the last node, time until every other node shows it dead; restart; repeat.
            if (nodes > 1 && crashes > 0) {
                double[] times = new double[crashes];
                DataDir victim = dirs.get(nodes - 1);
                String name = "n" + nodes;
                for (int c = 0; c < crashes; c++) {
                    long pid = Long.parseLong(Files.readString(victim.pidFile()).trim());
                    ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
                    long k0 = System.nanoTime();
                    p.destroyForcibly();
                    for (int i = 0; i < nodes - 1; i++) awaitState(dirs.get(i), name, "dead", Duration.ofSeconds(60));
                    times[c] = (System.nanoTime() - k0) / 1e9;
                    p.onExit().join();
                    DaemonLauncher.start(victim, Duration.ofSeconds(120));
                    for (DataDir d : dirs) awaitAlive(d, nodes, Duration.ofSeconds(120));
                }
                Arrays.sort(times);
                System.out.printf(Locale.ROOT, "crash detection: %d kills, median %.2f s, max %.2f s (kill -9 until all %d others show dead)%n",
                        crashes, times[crashes / 2], times[crashes - 1], nodes - 1);
            }
        } finally {
            for (int i = 0; i < dirs.size(); i++) {
                DataDir d = dirs.get(i);
                try {
                    if (Files.exists(d.pidFile())) {
                        ProcessHandle.of(Long.parseLong(Files.readString(d.pidFile()).trim())).ifPresent(p -> {
                            p.destroyForcibly();
                            p.onExit().join();
                        });
                    }
                } catch (IOException | NumberFormatException ignored) {
                    // best effort
                }
                // A daemon killed with -9 leaves its cgroups (herd-<name>-…) behind.
                io.herd.executor.Cgroups.detect(d.cgroupName("n" + (i + 1))).removeAll();
            }
            try (Stream<Path> s = Files.walk(root)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static StatusReply status(DataDir d) throws IOException {
        return ControlClient.call(d.root(), ControlRequest.newBuilder().setStatus(StatusRequest.getDefaultInstance()).build()).getStatus();
    }

    private static void awaitAlive(DataDir d, int n, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            long alive = ControlClient.call(d.root(), ControlRequest.newBuilder().setNodes(NodesRequest.getDefaultInstance()).build())
                    .getNodes().getNodesList().stream().filter(x -> x.getState().equals("alive") && x.getCores() > 0).count();
            if (alive == n) return;
            Thread.sleep(20);
        }
        throw new IllegalStateException(d + " did not see " + n + " alive nodes in " + timeout);
    }

    private static void awaitState(DataDir d, String node, String state, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            boolean hit = ControlClient.call(d.root(), ControlRequest.newBuilder().setNodes(NodesRequest.getDefaultInstance()).build())
                    .getNodes().getNodesList().stream().anyMatch(x -> x.getName().equals(node) && x.getState().equals(state));
            if (hit) return;
            Thread.sleep(20);
        }
        throw new IllegalStateException(d + " did not see " + node + " " + state + " in " + timeout);
    }
}
