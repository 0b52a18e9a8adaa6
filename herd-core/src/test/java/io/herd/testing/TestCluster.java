package io.herd.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * Several real herd daemons on 127.0.0.1, each a separate JVM with its own data
 * directory and ports, driven through the real CLI. {@link #close()} kills
 * every daemon it started and deletes every directory, even after a failure.
 */
public final class TestCluster implements AutoCloseable {

    public record TestNode(String name, Path data, int port) {
        public String grpc() { return "127.0.0.1:" + port; }

        /** The node's cgroup parent (see {@link io.herd.node.DataDir#cgroupName}). */
        public String cgroupName() { return new io.herd.node.DataDir(data).cgroupName(name); }

        public Optional<Long> pid() {
            try {
                Path f = data.resolve("daemon.pid");
                return Files.exists(f) ? Optional.of(Long.parseLong(Files.readString(f).trim())) : Optional.empty();
            } catch (IOException | NumberFormatException e) {
                return Optional.empty();
            }
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Map<String, TestNode> nodes = new LinkedHashMap<>();
    private final List<Long> pids = new ArrayList<>();

    static final String GUEST_ACCOUNT = "-Dherd.guest-account=nobody";

    /** JVM options for this cluster's daemons (e.g. a small heap), or empty. */
    private final String daemonOpts;

    public TestCluster() {
        this("");
    }

    /** @param daemonOpts JVM options for every daemon this cluster starts, as {@code HERD_DAEMON_OPTS} */
    public TestCluster(String daemonOpts) {
        // Root daemons run guests as an unprivileged account: tests use nobody rather than create herd-guest.
        // The owner is the test: the machine's own keyboard and terminals (a developer typing) never
        // freeze a test's guests; a test that plays the owner touches this file, or sets its own.
        this.daemonOpts = (GUEST_ACCOUNT + " -Dherd.ownerInput=owner/input " + daemonOpts).trim();
        try {
            root = Files.createTempDirectory("herd-test-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A formed cluster: node {@code home} made by {@code herd init} (cluster "lab"), each of
     * {@code hosts} joined to it with one token, all alive in home's view.
     *
     * @param daemonOpts JVM options for the daemons, or ""
     */
    public static TestCluster formed(String daemonOpts, String... hosts) {
        TestCluster c = new TestCluster(daemonOpts);
        try {
            TestNode home = c.init("home", "lab");
            Map<String, String> alive = new LinkedHashMap<>(Map.of("home", "alive"));
            if (hosts.length > 0) {
                String token = c.token(home, hosts.length);
                // The hosts join all at once, as machines booting together would (one token, several uses).
                List<TestNode> planned = new ArrayList<>();
                for (String h : hosts) {
                    planned.add(c.plan(h));
                    alive.put(h, "alive");
                }
                java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(planned.size());
                try {
                    List<java.util.concurrent.Future<?>> joins = new ArrayList<>();
                    for (TestNode n : planned) joins.add(pool.submit(() -> c.joinPlanned(n, home, token)));
                    for (java.util.concurrent.Future<?> f : joins) {
                        try {
                            f.get();
                        } catch (java.util.concurrent.ExecutionException e) {
                            if (e.getCause() instanceof Error err) throw err;
                            throw new AssertionError(e.getCause());
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new AssertionError("interrupted while nodes joined", e);
                        }
                    }
                } finally {
                    pool.shutdownNow();
                }
            }
            c.awaitStates(home, alive, Duration.ofSeconds(30 + 10L * hosts.length));
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    public Path root() { return root; }

    public TestNode node(String name) { return nodes.get(name); }

    public List<TestNode> nodes() { return List.copyOf(nodes.values()); }

    /** A node description with a fresh data directory and a free port pair; nothing started. */
    public synchronized TestNode plan(String name) {
        TestNode n = new TestNode(name, root.resolve(name), freePortPair());
        nodes.put(name, n);
        return n;
    }

    private static volatile Boolean canSandbox;

    /**
     * True when this machine gives guests the full sandbox (root, a working bwrap, usable
     * cgroups), as the daemons will find at start.
     */
    public static boolean machineSandboxesGuests() {
        if (canSandbox == null) {
            io.herd.executor.Cgroups cg = io.herd.executor.Cgroups.detect("herd-test-probe-" + ProcessHandle.current().pid());
            boolean usable = cg.usable();
            if (usable) cg.removeParent();
            canSandbox = usable && io.herd.executor.Sandbox.detect(List.of(), "nobody").available();
        }
        return canSandbox;
    }

    /**
     * Where the machine cannot sandbox guests (no bwrap, no usable cgroups: a plain container,
     * a non-root CI user), nodes refuse other nodes' jobs by default; the tests that are not
     * about the sandbox still need them to run, so their nodes opt in as an owner would.
     */
    private void acceptGuestsHere(TestNode n) {
        noDiskBackOff(n.data());
        if (machineSandboxesGuests()) return;
        Cli.Result r = Cli.run("policy", "set", "accept-unsandboxed", "yes", "--data", n.data().toString());
        assertThat(r.exit()).as("herd policy set accept-unsandboxed yes: %s", r.all()).isZero();
    }

    /**
     * The owner is the test, also for the disk: every node of a test cluster shares one disk with
     * the others' journals and with the suite itself, whose writes would pass for an owner's slow
     * disk and throttle or freeze the guests at random ({@code owner-io-latency}, issue 6). Test
     * nodes start with that back-off off; a test about it sets its own.
     */
    static void noDiskBackOff(Path data) {
        Cli.Result r = Cli.run("policy", "set", "owner-io-latency", "off", "--data", data.toString());
        assertThat(r.exit()).as("herd policy set owner-io-latency off: %s", r.all()).isZero();
    }

    public TestNode init(String name, String cluster) {
        TestNode n = plan(name);
        Cli.Result r = Cli.run(env(), List.of(), "init", "--name", name, "--cluster", cluster, "--listen", n.grpc(), "--data", n.data().toString());
        assertThat(r.exit()).as("herd init: %s", r.all()).isZero();
        track(n);
        acceptGuestsHere(n);
        return n;
    }

    public String token(TestNode via, int uses) {
        return joinToken(via.data(), via.grpc(), uses);
    }

    /** A join token of {@code uses} uses from the node whose data directory is {@code data} and which listens on {@code grpc}. */
    static String joinToken(Path data, String grpc, int uses) {
        Cli.Result r = Cli.run("token", "--uses", Integer.toString(uses), "--data", data.toString());
        assertThat(r.exit()).as("herd token: %s", r.all()).isZero();
        String line = r.out().trim();
        assertThat(line).startsWith("herd join " + grpc + " --token ");
        return line.substring(line.indexOf("--token ") + 8).trim();
    }

    public TestNode join(String name, TestNode via, String token) {
        return joinPlanned(plan(name), via, token);
    }

    private TestNode joinPlanned(TestNode n, TestNode via, String token) {
        String name = n.name();
        Cli.Result r = Cli.run(env(), List.of(), "join", via.grpc(), "--token", token, "--name", name, "--listen", n.grpc(),
                "--data", n.data().toString());
        assertThat(r.exit()).as("herd join: %s", r.all()).isZero();
        track(n);
        acceptGuestsHere(n);
        return n;
    }

    /** Starts an existing node's daemon again (after a crash or leave). */
    public void restart(TestNode n) {
        // The launcher detaches the daemon; start it through the same code path as init/join.
        String before = System.getProperty("herd.daemonOpts");
        try {
            if (!daemonOpts.isEmpty()) System.setProperty("herd.daemonOpts", daemonOpts);
            io.herd.cli.TestAccess.startDaemon(n.data());
        } catch (Exception e) {
            throw new AssertionError("restart of " + n.name() + " failed: " + e.getMessage(), e);
        } finally {
            if (before == null) System.clearProperty("herd.daemonOpts");
            else System.setProperty("herd.daemonOpts", before);
        }
        track(n);
    }

    private Map<String, String> env() {
        return daemonOpts.isEmpty() ? Map.of() : Map.of("HERD_DAEMON_OPTS", daemonOpts);
    }

    private void track(TestNode n) {
        synchronized (pids) {
            n.pid().ifPresent(pids::add);
        }
    }

    public List<JsonNode> nodesJson(TestNode n) {
        Cli.Result r = Cli.run("nodes", "--json", "--data", n.data().toString());
        assertThat(r.exit()).as("herd nodes: %s", r.all()).isZero();
        try {
            List<JsonNode> out = new ArrayList<>();
            JSON.readTree(r.out()).forEach(out::add);
            return out;
        } catch (IOException e) {
            throw new AssertionError("herd nodes --json printed invalid JSON: " + r.out(), e);
        }
    }

    /** The node's in-process view over the control socket (cheaper than a CLI process; for polling). */
    public Map<String, String> states(TestNode n) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (var v : io.herd.cli.TestAccess.nodes(n.data())) out.put(v.name(), v.state());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    public List<io.herd.membership.NodeView> views(TestNode n) {
        try {
            return io.herd.cli.TestAccess.nodes(n.data());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until the observer sees the states; on time-out fails with the end of every daemon's log. */
    public void awaitStates(TestNode observer, Map<String, String> expected, Duration timeout) {
        try {
            Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(100))
                    .untilAsserted(() -> assertThat(states(observer)).containsAllEntriesOf(expected));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            StringBuilder logs = new StringBuilder(e.getMessage());
            for (TestNode n : nodes.values()) logs.append(Cli.logTail(n.data(), 40));
            throw new AssertionError(logs.toString(), e);
        }
    }

    public void kill9(TestNode n) {
        long pid = n.pid().orElseThrow(() -> new AssertionError(n.name() + " has no pid file"));
        ProcessHandle p = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(n.name() + " is not running"));
        p.destroyForcibly();
        p.onExit().join();
    }

    public static int freePortPair() {
        return io.herd.node.Ports.freePair();
    }

    @Override
    public void close() {
        for (TestNode n : nodes.values()) n.pid().ifPresent(pids::add);
        for (long pid : pids) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroyForcibly();
                p.onExit().join();
            });
        }
        // Killed daemons cannot tidy up: remove their cgroups (and any job process left in them).
        for (TestNode n : nodes.values()) io.herd.executor.Cgroups.detect(n.cgroupName()).removeAll();
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
