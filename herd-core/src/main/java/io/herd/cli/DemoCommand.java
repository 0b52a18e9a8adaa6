package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LeaveRequest;
import io.herd.api.proto.TokenRequest;
import io.herd.cli.view.MonView;
import io.herd.cli.view.NodesTable;
import io.herd.membership.NodeView;
import io.herd.node.DataDir;
import io.herd.node.NodeSetup;
import io.herd.node.Ports;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", description = {"Start a local demo cluster of 4 daemons on 127.0.0.1 (separate processes, own data",
        "directories and ports under a temporary directory), formed with real tokens and TLS; show it;",
        "remove everything on exit or Ctrl-C."})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--nodes", defaultValue = "4", description = "How many nodes (default: ${DEFAULT-VALUE}).") int count;
    @Option(names = "--no-mon", description = "Do not open the live monitor even on a terminal.") boolean noMon;

    private final List<DataDir> dirs = new ArrayList<>();
    private final AtomicBoolean cleaned = new AtomicBoolean();
    private Path root;

    @Override
    public Integer call() throws Exception {
        if (count < 1 || count > 16) throw new CliException("--nodes must be between 1 and 16", 2);
        root = Files.createTempDirectory("herd-demo-");
        Thread hook = new Thread(this::cleanup, "herd-demo-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runDemo();
        } finally {
            cleanup();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // already shutting down: the hook runs cleanup, which is idempotent
            }
        }
    }

    private int runDemo() throws Exception {
        long t0 = System.nanoTime();
        int[] ports = Ports.freePairs(count);
        System.out.println("herd demo: " + count + " nodes on 127.0.0.1, data under " + root);
        for (int i = 0; i < count; i++) dirs.add(new DataDir(root.resolve("node" + (i + 1))));

        NodeSetup.init(dirs.get(0), "node1", "demo", new NodeSetup.Endpoint("127.0.0.1", ports[0], "127.0.0.1"));
        DaemonLauncher.start(dirs.get(0), Duration.ofSeconds(60));
        System.out.println("  node1: created the cluster CA and started (gRPC 127.0.0.1:" + ports[0] + ")");
        if (count > 1) {
            String token = Control.call(dirs.get(0), ControlRequest.newBuilder()
                    .setToken(TokenRequest.newBuilder().setTtlSeconds(600).setUses(count - 1)).build()).getToken().getToken();
            System.out.println("  herd token --uses " + (count - 1) + "  ->  herd join 127.0.0.1:" + ports[0] + " --token "
                    + token.substring(0, Math.min(16, token.length())) + "…");
            for (int i = 1; i < count; i++) {
                NodeSetup.join(dirs.get(i), "127.0.0.1:" + ports[0], token, "node" + (i + 1),
                        new NodeSetup.Endpoint("127.0.0.1", ports[i], "127.0.0.1"), Clock.systemUTC());
            }
            // One after another: each daemon calibrates its CPU speed at start, and on a small
            // machine parallel starts would measure each other rather than the CPU.
            for (int i = 1; i < count; i++) DaemonLauncher.start(dirs.get(i), Duration.ofSeconds(60));
            System.out.println("  node2..node" + count + ": verified the CA pin, got certificates by CSR, joined over mutual TLS");
        }
        List<NodeView> nodes = awaitFormed(Duration.ofSeconds(60));
        System.out.printf("cluster of %d formed in %.1f s%n%n", count, (System.nanoTime() - t0) / 1e9);
        boolean tty = System.console() != null;
        System.out.print(NodesTable.render(nodes, Terminals.width(tty), tty));
        if (tty && !noMon) {
            System.out.println();
            System.out.println("opening the live monitor (herd mon); press q to stop the demo");
            try (Terminal t = TerminalBuilder.builder().system(true).build()) {
                new MonView(() -> {
                    try {
                        return Control.nodes(dirs.get(0));
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, "demo").run(t);
            }
        }
        System.out.println();
        System.out.println("stopping the demo cluster and removing " + root);
        return 0;
    }

    /** Waits until node1 sees every node alive with its load vector. */
    private List<NodeView> awaitFormed(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<NodeView> nodes = List.of();
        while (System.nanoTime() < deadline) {
            nodes = Control.nodes(dirs.get(0));
            long ready = nodes.stream().filter(n -> n.state().equals("alive") && n.cores() > 0).count();
            if (ready == count) return nodes;
            Thread.sleep(100); // polling another process's view: nothing to block on
        }
        throw new CliException("the demo cluster did not form within " + timeout.toSeconds() + " s; node1 sees "
                + nodes.stream().map(n -> n.name() + "=" + n.state()).toList() + "; logs are in " + root);
    }

    private void cleanup() {
        if (!cleaned.compareAndSet(false, true) || root == null) return;
        for (DataDir d : dirs) {
            try {
                if (ControlClient.isRunning(d.root())) {
                    String pid = Files.exists(d.pidFile()) ? Files.readString(d.pidFile()).trim() : null;
                    ControlClient.call(d.root(), ControlRequest.newBuilder().setLeave(LeaveRequest.getDefaultInstance()).build());
                    if (pid != null) {
                        ProcessHandle.of(Long.parseLong(pid)).ifPresent(p -> {
                            try {
                                p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (Exception e) {
                                p.destroyForcibly();
                            }
                        });
                    }
                }
            } catch (Exception e) {
                killFromPidFile(d);
            }
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    private static void killFromPidFile(DataDir d) {
        try {
            if (Files.exists(d.pidFile())) {
                ProcessHandle.of(Long.parseLong(Files.readString(d.pidFile()).trim())).ifPresent(ProcessHandle::destroyForcibly);
            }
        } catch (IOException | NumberFormatException ignored) {
            // nothing more to do
        }
    }

}
