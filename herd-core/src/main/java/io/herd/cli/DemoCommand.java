package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LeaveRequest;
import io.herd.api.proto.PolicyRequest;
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
        "directories and ports under a temporary directory), formed with real tokens and TLS; give the nodes",
        "different guest CPU shares (1.0, 0.6, 0.4, 0.2 cores) so they differ in speed; run an array of real jobs",
        "over the pool (herd run --each) and show the speedup and where the jobs ran; then the live monitor on a",
        "terminal; remove everything on exit or Ctrl-C."})
final class DemoCommand implements Callable<Integer> {

    /**
     * The demo's nodes share one machine and the person watching it: typing there is not an
     * owner coming back to one of them, so their owner watch is off (guests are never frozen).
     */
    static final List<String> DAEMON_OPTIONS = List.of("-Dherd.ownerWatch=off");

    /** Guest CPU shares of node1, node2, ... (repeating): the same cap as {@code herd policy set guest-cpus}. */
    static final double[] SHARES = {1.0, 0.6, 0.4, 0.2};

    @Option(names = "--nodes", defaultValue = "4", description = "How many nodes (default: ${DEFAULT-VALUE}).") int count;
    @Option(names = "--no-mon", description = "Do not open the live monitor even on a terminal.") boolean noMon;
    @Option(names = "--jobs", paramLabel = "N", defaultValue = "24",
            description = "Jobs in the demo's array: keys, tiles or builtin jobs (default: ${DEFAULT-VALUE}).") int jobs;
    @Option(names = "--workload", paramLabel = "KIND", defaultValue = "auto",
            description = {"What the array runs: genrsa (openssl genrsa 2048 keys), povray (tiles of a built-in scene),",
                    "builtin (a shell arithmetic loop), none (only the cluster), or auto: povray if installed,",
                    "else genrsa if openssl is, else builtin (default: ${DEFAULT-VALUE})."}) String workload;

    private final List<DataDir> dirs = new ArrayList<>();
    private final AtomicBoolean cleaned = new AtomicBoolean();
    private Path root;
    private DemoWorkload kind;

    @Override
    public Integer call() throws Exception {
        if (count < 1 || count > 16) throw new CliException("--nodes must be between 1 and 16", 2);
        if (jobs < 1 || jobs > 1000) throw new CliException("--jobs must be between 1 and 1000", 2);
        kind = DemoWorkload.parse(workload);
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
        DaemonLauncher.start(dirs.get(0), Duration.ofSeconds(60), DAEMON_OPTIONS);
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
            for (int i = 1; i < count; i++) DaemonLauncher.start(dirs.get(i), Duration.ofSeconds(60), DAEMON_OPTIONS);
            System.out.println("  node2..node" + count + ": verified the CA pin, got certificates by CSR, joined over mutual TLS");
        }
        List<NodeView> nodes = awaitFormed(Duration.ofSeconds(60));
        System.out.printf("cluster of %d formed in %.1f s%n", count, (System.nanoTime() - t0) / 1e9);
        boolean tty = System.console() != null;
        if (kind != DemoWorkload.NONE) nodes = shareCpus(nodes);
        System.out.println();
        System.out.print(NodesTable.render(nodes, Terminals.width(tty), tty));
        int status = 0;
        boolean interrupted = false;
        if (kind != DemoWorkload.NONE) {
            ArrayRun.Outcome o = runWorkload(tty, nodes);
            status = o.bad() == 0 ? 0 : 1;
            interrupted = o.cancelled() > 0;
        }
        if (tty && !noMon && !interrupted) {
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
        return status;
    }

    /**
     * Caps each node's guests at its share of {@link #SHARES} through the same control request as
     * {@code herd policy set guest-cpus}, and waits until node1's view shows every cap (placement
     * reads it from there). Where the machine cannot cap (no writable cpu cgroup), says so in one
     * line, lifts any cap already set and goes on with equal nodes.
     */
    private List<NodeView> shareCpus(List<NodeView> nodes) throws Exception {
        double[] share = new double[count];
        for (int i = 0; i < count; i++) {
            share[i] = SHARES[i % SHARES.length];
            try {
                Control.call(dirs.get(i), ControlRequest.newBuilder().setPolicy(PolicyRequest.newBuilder()
                        .setKey("guest-cpus").setValue(io.herd.policy.Policy.formatCores(share[i]))).build());
            } catch (ControlClient.DaemonError e) {
                for (int j = 0; j < i; j++) {
                    try {
                        Control.call(dirs.get(j), ControlRequest.newBuilder().setPolicy(PolicyRequest.newBuilder()
                                .setKey("guest-cpus").setValue("none")).build());
                    } catch (ControlClient.DaemonError again) {
                        // the daemon lifts it when it stops anyway
                    }
                }
                System.out.println("guest CPU shares: not available here (" + firstClause(e.getMessage())
                        + "); the nodes run at equal speed");
                return nodes;
            }
        }
        StringBuilder line = new StringBuilder("guest CPU shares (herd policy set guest-cpus):");
        for (int i = 0; i < count; i++) {
            line.append(i == 0 ? " " : ", ").append("node").append(i + 1).append(' ')
                    .append(String.format(java.util.Locale.ROOT, "%.1f", share[i]));
        }
        System.out.println(line.append(" cores"));
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline) {
            nodes = Control.nodes(dirs.get(0));
            boolean all = nodes.size() == count;
            for (NodeView n : nodes) {
                int i = Integer.parseInt(n.name().substring("node".length())) - 1;
                if (i < 0 || i >= count || Math.abs(n.guestCpus() - share[i]) > 0.005) all = false;
            }
            if (all) return nodes;
            Thread.sleep(100); // gossip from other processes: nothing to block on
        }
        System.out.println("(node1 does not see every share yet; placement catches up as gossip arrives)");
        return nodes;
    }

    /** The reason in a daemon's error, without the advice that follows it. */
    static String firstClause(String message) {
        String m = message == null ? "" : message;
        int cut = m.indexOf("; ");
        return cut < 0 ? m : m.substring(0, cut);
    }

    /** Runs the workload from a work directory under the demo's root, as {@code herd run --each} would, and reports. */
    private ArrayRun.Outcome runWorkload(boolean tty, List<NodeView> before) throws Exception {
        Path work = Files.createDirectories(root.resolve("work"));
        JobOptions job = kind.prepare(work, jobs);
        System.out.println();
        System.out.println("running " + kind.describe(jobs));
        System.out.println("  herd run --each " + job.each + " -- " + String.join(" ", job.command.stream()
                .map(DemoCommand::quote).toList()) + "   (in " + work + ")");
        ArrayRun.Outcome o = ArrayRun.run(dirs.get(0), job, tty, true);
        System.out.println();
        System.out.println("where the jobs ran (a node with a larger share finishes more, when the machine has the cores to give):");
        int width = o.hosts().values().stream().mapToInt(Integer::intValue).max().orElse(1);
        for (int i = 0; i < count; i++) {
            String name = "node" + (i + 1);
            int n = o.hosts().getOrDefault(name, 0);
            String cap = capOf(i);
            System.out.printf(java.util.Locale.ROOT, "  %-7s %-11s %3d job%s  %s%n", name, cap, n, n == 1 ? " " : "s",
                    "#".repeat((int) Math.round(30.0 * n / Math.max(1, width))));
        }
        before.stream().filter(NodeView::self).findFirst().ifPresent(v -> {
            if (v.load() > 2.0 * v.cores()) {
                System.out.printf(java.util.Locale.ROOT, "(this machine was busy before the demo's jobs started: load %.1f on %d cores,"
                        + " so every node got less than its share and the counts differ less)%n", v.load(), v.cores());
            }
        });
        for (String line : kind.report(work, jobs)) System.out.println(line);
        if (o.bad() > 0) {
            System.out.println("herd demo: " + o.bad() + " of " + o.size() + " jobs did not succeed; see the messages above");
        }
        return o;
    }

    private String capOf(int node) {
        try {
            for (NodeView v : Control.nodes(dirs.get(0))) {
                if (v.name().equals("node" + (node + 1))) {
                    return v.guestCpus() > 0 ? String.format(java.util.Locale.ROOT, "%.1f cores", v.guestCpus()) : "no cap";
                }
            }
        } catch (IOException e) {
            // shown as unknown
        }
        return "";
    }

    private static String quote(String word) {
        return word.matches("[A-Za-z0-9_./{}#:+=,-]+") ? word : "'" + word.replace("'", "'\\''") + "'";
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
        removeCgroups();
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }

    /**
     * A daemon lifts its guest CPU cap and removes its cgroup parent ({@code herd-NODE-XXXXXX})
     * when it stops; this catches what a daemon that had to be killed left behind.
     */
    private void removeCgroups() {
        for (int i = 0; i < dirs.size(); i++) {
            // The daemons are gone: whatever is left in their cgroups is the demo's own.
            io.herd.executor.Cgroups.detect(dirs.get(i).cgroupName("node" + (i + 1))).removeAll();
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
