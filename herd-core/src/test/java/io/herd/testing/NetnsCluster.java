package io.herd.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;

/**
 * Real herd daemons on separate "hosts": one network namespace each, with its own address
 * (10.77.0.11, .12, …) on a veth link to a bridge in a switch namespace (or, for latency and
 * loss on a kernel without tc netem, a TAP device of the user-space switch {@code scripts/netwire}),
 * built by {@code scripts/netns-hosts}. Daemons listen on their own address, port 7700, and are
 * driven through the real CLI entered into their namespace with {@code nsenter --net} (only
 * the network namespace: the cgroup mounts stay the machine's).
 *
 * <p>Everything it makes is named {@code hd<pid>x<n>-…}; {@link #close()} (also run by a JVM
 * shutdown hook) kills every process in its namespaces, removes the namespaces (and so every
 * link), unmounts its small data disks and deletes its directories, even after a failure.
 */
public final class NetnsCluster implements AutoCloseable {

    public static final int PORT = 7700;
    private static final AtomicInteger COUNTER = new AtomicInteger();
    private static volatile String unavailable;
    private static volatile Boolean netem;

    /** One host: its namespace, address and data directory (on its own tmpfs when a disk size was given). */
    public record Host(int index, String name, String ns, String address, Path data) {
        public String grpc() { return address + ":" + PORT; }

        public List<String> enter() { return List.of("nsenter", "--net=/run/netns/" + ns, "--"); }

        public String cgroupName() { return new io.herd.node.DataDir(data).cgroupName(name); }

        public Optional<Long> pid() {
            try {
                Path f = data.resolve("daemon.pid");
                return Files.exists(f) ? Optional.of(Long.parseLong(Files.readString(f).trim())) : Optional.empty();
            } catch (IOException | NumberFormatException e) {
                return Optional.empty();
            }
        }

        public Path journal() { return data.resolve("journal.db"); }
    }

    private final String prefix;
    private final boolean wire;
    private final Path root;
    private final String daemonOpts;
    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final List<Path> mounts = new ArrayList<>();
    private final List<Long> pids = new ArrayList<>();
    private final Thread hook;
    private boolean closed;
    private String formationToken;

    /** The script, found from the test's working directory (a module) or the repository root. */
    public static Path script() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path s = d.resolve("scripts/netns-hosts");
            if (Files.isExecutable(s)) return s;
        }
        return null;
    }

    /** Skips the calling test, saying why, where namespaces cannot be made (not root, no iproute2…). */
    public static void assumeAvailable() {
        String why = unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "multi-host test skipped: " + why);
    }

    /** Whether this kernel has tc netem (else latency and loss need the user-space wire). */
    public static boolean hasNetem() {
        if (unavailableReason() != null) return false;
        if (netem == null) netem = sh(List.of(script().toString(), "can-netem"), false).exit() == 0;
        return netem;
    }

    /** Whether a user-space wire ({@code scripts/netwire}: TAP devices, python3) can be made here. */
    public static boolean canWire() {
        return unavailableReason() == null && sh(List.of(script().toString(), "can-wire"), false).exit() == 0;
    }

    /** Skips unless this cluster can add latency and loss: tc netem, or it was built on the wire. */
    public void assumeImpairable() {
        Assumptions.assumeTrue(wire || hasNetem(),
                "skipped: this kernel has no tc netem (sch_netem) and the cluster was not built on the user-space wire");
    }

    /** True when the hosts are joined by {@code scripts/netwire} rather than veths on a bridge. */
    public boolean wired() { return wire; }

    static synchronized String unavailableReason() {
        if (unavailable != null) return unavailable.isEmpty() ? null : unavailable;
        String why = null;
        if (!"root".equals(System.getProperty("user.name"))) why = "needs root to make network namespaces (run as root, as CI does)";
        else if (script() == null) why = "scripts/netns-hosts not found above " + Path.of("").toAbsolutePath();
        else if (!Files.isExecutable(Path.of("/usr/bin/nsenter")) && !Files.isExecutable(Path.of("/bin/nsenter"))) why = "nsenter (util-linux) is missing";
        else {
            String probe = "hd" + ProcessHandle.current().pid() + "x" + COUNTER.incrementAndGet();
            Sh r = sh(List.of(script().toString(), "up", probe, "1"), false);
            sh(List.of(script().toString(), "down", probe), false);
            if (r.exit() != 0) why = "cannot make network namespaces here: " + r.out().trim();
        }
        unavailable = why == null ? "" : why;
        return why;
    }

    /**
     * Builds {@code count} hosts; nothing is started.
     *
     * @param diskMb per host index (1-based), the size of a tmpfs to hold that host's data directory
     */
    public NetnsCluster(int count, String daemonOpts, Map<Integer, Integer> diskMb) {
        this(count, daemonOpts, diskMb, false);
    }

    /**
     * @param wire join the hosts through the user-space switch {@code scripts/netwire} (TAP devices)
     *             instead of veths on a bridge: latency and loss where the kernel has no tc netem
     */
    public NetnsCluster(int count, String daemonOpts, Map<Integer, Integer> diskMb, boolean wire) {
        assumeAvailable();
        this.wire = wire;
        this.prefix = "hd" + ProcessHandle.current().pid() + "x" + COUNTER.incrementAndGet();
        this.daemonOpts = (TestCluster.GUEST_ACCOUNT + " -Dherd.ownerInput=owner/input " + daemonOpts).trim();
        try {
            root = Files.createTempDirectory("herd-test-netns-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        hook = new Thread(this::close, "netns-cleanup-" + prefix);
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            if (wire) script("up", prefix, Integer.toString(count), "wire");
            else script("up", prefix, Integer.toString(count));
            for (int i = 1; i <= count; i++) {
                Path data = root.resolve("n" + i);
                Integer mb = diskMb.get(i);
                if (mb != null) {
                    // The disk holds the data directory: herd init/join write it whole and rename it into place.
                    Path disk = Files.createDirectories(root.resolve("disk-n" + i));
                    run(List.of("mount", "-t", "tmpfs", "-o", "size=" + mb + "m,mode=0755", "herd-test-disk", disk.toString()));
                    mounts.add(disk);
                    data = disk.resolve("n" + i);
                }
                Host h = new Host(i, "n" + i, prefix + "-" + i, "10.77.0." + (10 + i), data);
                hosts.put(h.name(), h);
            }
        } catch (IOException | RuntimeException | Error e) {
            close();
            if (e instanceof IOException io) throw new UncheckedIOException(io);
            throw (RuntimeException) (e instanceof Error err ? new AssertionError(err) : e);
        }
    }

    /** {@code count} hosts, n1 made by {@code herd init} (cluster "lab"), the others joined with one token, all alive in n1's view. */
    public static NetnsCluster formed(int count, String daemonOpts, Map<Integer, Integer> diskMb) {
        return formed(count, 0, daemonOpts, diskMb);
    }

    /** As {@link #formed(int, String, Map)}, with {@code spare} more hosts on the network that run nothing (e.g. a rogue). */
    public static NetnsCluster formed(int count, int spare, String daemonOpts, Map<Integer, Integer> diskMb) {
        return formed(count, spare, daemonOpts, diskMb, false);
    }

    /** As {@link #formed(int, int, String, Map)}; {@code wire}: see {@link #NetnsCluster(int, String, Map, boolean)}. */
    public static NetnsCluster formed(int count, int spare, String daemonOpts, Map<Integer, Integer> diskMb, boolean wire) {
        NetnsCluster c = new NetnsCluster(count + spare, daemonOpts, diskMb, wire);
        try {
            Host first = c.host(1);
            c.init(first);
            Map<String, String> alive = new LinkedHashMap<>(Map.of(first.name(), "alive"));
            if (count > 1) {
                String token = c.token(first, count - 1);
                c.formationToken = token;
                // In parallel: each join is a CLI JVM and a daemon JVM starting.
                List<java.util.concurrent.CompletableFuture<Void>> joins = new ArrayList<>();
                for (int i = 2; i <= count; i++) {
                    Host h = c.host(i);
                    joins.add(java.util.concurrent.CompletableFuture.runAsync(() -> c.join(h, first, token)));
                    alive.put(h.name(), "alive");
                }
                try {
                    java.util.concurrent.CompletableFuture.allOf(joins.toArray(java.util.concurrent.CompletableFuture[]::new)).join();
                } catch (java.util.concurrent.CompletionException e) {
                    if (e.getCause() instanceof Error err) throw err;
                    throw e;
                }
            }
            c.awaitStates(first, alive, Duration.ofSeconds(30 + 10L * count));
            return c;
        } catch (RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    public String prefix() { return prefix; }

    /** The token {@link #formed} joined the other hosts with: every use spent. */
    public String formationToken() { return formationToken; }

    public Path root() { return root; }

    public Host host(int index) { return hosts.get("n" + index); }

    public Host host(String name) { return hosts.get(name); }

    public List<Host> hosts() { return List.copyOf(hosts.values()); }

    private Map<String, String> env() { return Map.of("HERD_DAEMON_OPTS", daemonOpts); }

    public void init(Host h) {
        Cli.Result r = Cli.run(env(), h.enter(), "init", "--name", h.name(), "--cluster", "lab", "--listen", h.grpc(),
                "--data", h.data().toString());
        assertThat(r.exit()).as("herd init on %s: %s", h.name(), r.all()).isZero();
        track(h);
        TestCluster.noDiskBackOff(h.data());
    }

    public String token(Host via, int uses) {
        return TestCluster.joinToken(via.data(), via.grpc(), uses);
    }

    public void join(Host h, Host via, String token) {
        Cli.Result r = Cli.run(env(), h.enter(), "join", via.grpc(), "--token", token, "--name", h.name(), "--listen", h.grpc(),
                "--data", h.data().toString());
        assertThat(r.exit()).as("herd join on %s: %s", h.name(), r.all()).isZero();
        track(h);
        TestCluster.noDiskBackOff(h.data());
    }

    private void track(Host h) {
        h.pid().ifPresent(p -> {
            synchronized (pids) { pids.add(p); }
        });
    }

    /** Runs the CLI on {@code h} (its control socket), from the root namespace: the socket is a file. */
    public Cli.Result herd(Host h, String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add(1, "--data=" + h.data());
        return Cli.run(a.toArray(String[]::new));
    }

    public Map<String, String> states(Host observer) {
        Map<String, String> out = new LinkedHashMap<>();
        try {
            for (var v : io.herd.cli.TestAccess.nodes(observer.data())) out.put(v.name(), v.state());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Waits until the observer sees the states; on time-out fails with the end of every daemon's log. */
    public void awaitStates(Host observer, Map<String, String> expected, Duration timeout) {
        try {
            Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .untilAsserted(() -> assertThat(states(observer)).containsAllEntriesOf(expected));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            StringBuilder logs = new StringBuilder(e.getMessage());
            for (Host h : hosts.values()) logs.append(Cli.logTail(h.data(), 40));
            throw new AssertionError(logs.toString(), e);
        }
    }

    /** {@code kill -9} of the host's daemon (its guests die with it: bwrap --die-with-parent). */
    public void kill9(Host h) {
        long pid = h.pid().orElseThrow(() -> new AssertionError(h.name() + " has no pid file"));
        ProcessHandle p = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError(h.name() + " is not running"));
        p.destroyForcibly();
        p.onExit().join();
    }

    /** SIGTERM to the daemon (a stop, not a leave) and waits until it is gone. */
    public void stop(Host h) {
        h.pid().flatMap(ProcessHandle::of).ifPresent(p -> {
            p.destroy();
            try {
                p.onExit().get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                p.destroyForcibly();
                p.onExit().join();
            }
        });
    }

    public boolean running(Host h) {
        return h.pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Starts the host's daemon again in its namespace (detached, as {@code herd init} does) and waits until it answers. */
    public void restart(Host h) {
        List<String> cmd = new ArrayList<>(h.enter());
        cmd.add("/usr/bin/setsid");
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-Xmx1g");
        cmd.addAll(List.of(daemonOpts.split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.herd.cli.Main", "daemon", "--data", h.data().toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(h.data().resolve("daemon.log").toFile()));
        pb.redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        synchronized (pids) { pids.add(p.pid()); }
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> {
                    if (!p.isAlive()) throw new AssertionError(h.name() + " daemon stopped at start; see " + h.data().resolve("daemon.log"));
                    return io.herd.cli.TestAccess.status(h.data()) != null;
                });
        track(h);
    }

    /** Runs a Java main class of the test classpath on host {@code h} (in its network namespace), as its own JVM. */
    public Cli.Result java(Host h, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(h.enter());
        cmd.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            var err = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "";
                }
            });
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(mainClass + " on " + h.name() + " did not finish in 180 s: " + out);
            }
            return new Cli.Result(p.exitValue(), out, err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    // ---- network faults -------------------------------------------------------------------

    /** Takes the hosts' links down: each is cut off from every other host. */
    public void cut(Host... hs) { script(with("cut", hs)); }

    public void heal(Host... hs) { script(with("heal", hs)); }

    /** A partition: {@code side} on one bridge, every other host on another. */
    public void split(Host... side) { script(with("split", side)); }

    /** Heals {@link #split}. */
    public void unsplit() { script("join", prefix); }

    /** tc netem on both ends of the host's link: a round trip gains {@code delayMs} ± jitter, each way loses {@code lossPct}. */
    public void impair(Host h, int delayMs, int jitterMs, double lossPct) {
        script("impair", prefix, Integer.toString(h.index()), Integer.toString(delayMs), Integer.toString(jitterMs), Double.toString(lossPct));
    }

    public void clearImpairment(Host h) { script("clear", prefix, Integer.toString(h.index())); }

    private String[] with(String cmd, Host... hs) {
        List<String> a = new ArrayList<>(List.of(cmd, prefix));
        for (Host h : hs) a.add(Integer.toString(h.index()));
        return a.toArray(String[]::new);
    }

    // ---- disks ----------------------------------------------------------------------------

    /** Fills the host's data disk (a tmpfs) to the last byte with a file of its own; returns its size. */
    public long fillDisk(Host h) {
        if (!mounts.contains(h.data().getParent())) throw new IllegalStateException(h.name() + " has no disk of its own (give its size)");
        Path f = h.data().resolve("filler");
        long written = 0;
        byte[] block = new byte[1 << 16];
        try (OutputStream out = Files.newOutputStream(f)) {
            while (true) {
                out.write(block);
                written += block.length;
            }
        } catch (IOException full) {
            // ENOSPC: the disk is full; top up with what still fits byte by byte is not needed for tmpfs pages
        }
        return written;
    }

    public void freeDisk(Host h) {
        try {
            Files.deleteIfExists(h.data().resolve("filler"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- plumbing -------------------------------------------------------------------------

    record Sh(int exit, String out) {}

    private void script(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(script().toString());
        cmd.addAll(List.of(args));
        run(cmd);
    }

    private static void run(List<String> cmd) {
        Sh r = sh(cmd, true);
        if (r.exit() != 0) throw new AssertionError(String.join(" ", cmd) + " failed (" + r.exit() + "): " + r.out());
    }

    static Sh sh(List<String> cmd, boolean mustStart) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Sh(124, out + " (timed out)");
            }
            return new Sh(p.exitValue(), out);
        } catch (IOException e) {
            if (mustStart) throw new UncheckedIOException(e);
            return new Sh(127, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Sh(130, "interrupted");
        }
    }

    /** Pids of every process in this cluster's namespaces (daemons, their guests, anything left). */
    private List<Long> processesInNamespaces() {
        List<Long> out = new ArrayList<>();
        for (Host h : hosts.values()) {
            Sh r = sh(List.of("ip", "netns", "pids", h.ns()), false);
            if (r.exit() != 0) continue;
            for (String l : r.out().split("\\s+")) {
                if (l.matches("\\d+")) out.add(Long.parseLong(l));
            }
        }
        return out;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // we are the hook
        }
        List<Long> all = new ArrayList<>();
        synchronized (pids) { all.addAll(pids); }
        for (Host h : hosts.values()) h.pid().ifPresent(all::add);
        all.addAll(processesInNamespaces());
        for (long pid : all) {
            ProcessHandle.of(pid).ifPresent(p -> {
                p.destroyForcibly();
                try {
                    p.onExit().get(30, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // reaped by init; the namespace goes anyway
                }
            });
        }
        for (Host h : hosts.values()) io.herd.executor.Cgroups.detect(h.cgroupName()).removeAll();
        if (script() != null) sh(List.of(script().toString(), "down", prefix), false);
        for (Path m : mounts) sh(List.of("umount", "-l", m.toString()), false);
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
