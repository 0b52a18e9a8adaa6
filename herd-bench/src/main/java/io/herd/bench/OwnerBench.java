package io.herd.bench;

import static io.herd.bench.BenchArgs.intArg;

import io.herd.api.proto.CancelJobsRequest;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.JobSpecMsg;
import io.herd.api.proto.PsRequest;
import io.herd.api.proto.SubmitRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Figures of issue 4 ("the owner comes back") for BENCHMARKS.md:
 *
 * <pre>
 * herd-bench/run OwnerBench [--seconds 5] [--rounds 3] [--period-ms 1] [--freezes 30]
 * </pre>
 *
 * <ul>
 *   <li><b>owner wake-up latency</b>: a periodic owner-side task (this JVM, nice 0: sleep
 *       {@code --period-ms}, measure how late it wakes) for {@code --seconds} per scenario and round,
 *       {@code --rounds} rounds of the four scenarios in turn, all with the 2-node cluster up:
 *       <ol>
 *         <li>no guests (the two daemons idle);</li>
 *         <li>two CPU-bound loops ({@code sh -c 'while :; do :; done'}) under plain {@code nice -n 19};</li>
 *         <li>the same two loops as herd guests on a 2-node cluster on this machine (submitted at node 1,
 *             run on node 2: bubblewrap, the guests' cgroup at the lowest CPU weight, nice 19), the
 *             owner away (guests running);</li>
 *         <li>the same guests with the owner active (the test input source touched every 200 ms):
 *             guests frozen.</li>
 *       </ol></li>
 *   <li><b>freeze latency</b>: owner input signalled (the daemon's test input file touched) → every
 *       process of both guests stopped (in a FROZEN freezer cgroup or in state T), polled from /proc;
 *       {@code --freezes} times, the guests thawed (1 s quiet) in between. The measuring thread runs at
 *       nice -10 like the daemon's owner watch (root).</li>
 * </ul>
 * The daemons run with {@code -Dherd.ownerInput=owner/input -Dherd.ownerQuiet=1s -Dherd.ownerGrace=10m}
 * (no eviction during the run). Everything is removed at the end.
 */
public final class OwnerBench {

    private static final String LOOP = "while :; do :; done";
    private static final long TOUCH_EVERY_MILLIS = 200;
    private static final List<String> ROWS = List.of("no guests (2 idle daemons up)", "2 CPU loops under plain nice 19",
            "2 CPU loops as herd guests, owner away (running)", "2 CPU loops as herd guests, owner active (frozen)");

    public static void main(String[] args) throws Exception {
        int seconds = intArg(args, "--seconds", 5);
        int periodMs = intArg(args, "--period-ms", 1);
        int freezes = intArg(args, "--freezes", 30);
        int rounds = intArg(args, "--rounds", 3);
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " CPUs, " + cpuModel()
                + ", load average at start " + loadAvg());

        Map<String, List<double[]>> samples = new LinkedHashMap<>();
        for (String k : ROWS) samples.put(k, new ArrayList<>());
        System.setProperty("herd.daemonOpts", "-Dherd.guest-account=nobody -Dherd.ownerInput=owner/input"
                + " -Dherd.ownerQuiet=1s -Dherd.ownerGrace=10m");
        double[] freezeMs = new double[freezes];
        String freezer;
        try (BenchCluster c = BenchCluster.start(2)) {
            Path input = c.data(1).resolve("owner/input");
            // Rounds alternate the scenarios, so a burst of the machine's other work hits them all alike.
            List<Long> pids = List.of();
            for (int round = 0; round < rounds; round++) {
                samples.get(ROWS.get(0)).add(wakeups(seconds, periodMs, null, List.of()));
                List<Process> niced = new ArrayList<>();
                try {
                    for (int i = 0; i < 2; i++) niced.add(new ProcessBuilder("nice", "-n", "19", "sh", "-c", LOOP).start());
                    samples.get(ROWS.get(1)).add(wakeups(seconds, periodMs, null, List.of()));
                } finally {
                    for (Process p : niced) p.destroyForcibly().waitFor();
                }
                String marker = "herd-ownerbench-" + ProcessHandle.current().pid() + "-" + round;
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < 2; i++) {
                    JobSpecMsg spec = JobSpecMsg.newBuilder().addAllArgv(List.of("sh", "-c", LOOP + " # " + marker))
                            .setCwd(c.root().toString()).setNode(c.name(1)).setMaxRetries(0).build();
                    ids.add(c.call(0, ControlRequest.newBuilder().setSubmit(SubmitRequest.newBuilder().setSpec(spec)).build())
                            .getSubmitted().getJobId());
                }
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (guestPids(marker).size() < 2 || running(c) < 2) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException("the guests did not start within 120 s");
                    Thread.sleep(50);   // other processes: poll
                }
                pids = guestPids(marker);
                samples.get(ROWS.get(2)).add(wakeups(seconds, periodMs, null, pids));
                samples.get(ROWS.get(3)).add(wakeups(seconds, periodMs, input, pids));
                if (round == rounds - 1) break;   // the last round's guests serve the freeze trials
                c.call(0, ControlRequest.newBuilder().setCancel(CancelJobsRequest.newBuilder().addAllJobIds(ids)).build());
                awaitGone(pids);
                Thread.sleep(1500);   // the owner goes quiet: the next guests are welcome
            }
            // The measuring thread polls /proc: at nice -10 (as the daemon's owner watch), so on a busy
            // machine the figure is the freeze's, not this thread's wait for a CPU.
            reniceThisThread();
            for (int i = 0; i < freezes; i++) {
                awaitAll(pids, false);                          // thawed after the quiet second
                Thread.sleep(100 + (i * 37) % 200);             // not in step with the daemon's polling
                long t0 = System.nanoTime();
                touch(input);
                while (!allFrozen(pids)) LockSupport.parkNanos(100_000);
                freezeMs[i] = (System.nanoTime() - t0) / 1e6;
            }
            freezer = how(pids.get(0));
        }
        Map<String, double[]> rows = new LinkedHashMap<>();
        samples.forEach((k, list) -> rows.put(k, list.stream().flatMapToDouble(java.util.Arrays::stream).toArray()));

        System.out.printf(Locale.ROOT, "%nowner wake-up delay, sleep %d ms, %d rounds of %d s per scenario (ms late):%n", periodMs, rounds, seconds);
        System.out.printf(Locale.ROOT, "%-52s %8s %8s %8s %8s %7s%n", "", "p50", "p90", "p99", "max", "n");
        for (Map.Entry<String, double[]> e : rows.entrySet()) {
            double[] v = e.getValue();
            System.out.printf(Locale.ROOT, "%-52s %8.3f %8.3f %8.3f %8.3f %7d%n", e.getKey(),
                    JobsBench.pct(v, 50), JobsBench.pct(v, 90), JobsBench.pct(v, 99), JobsBench.pct(v, 100), v.length);
        }
        double base = JobsBench.pct(rows.get(ROWS.get(0)), 99);
        for (String k : rows.keySet()) {
            System.out.printf(Locale.ROOT, "p99 ratio to no guests: %-44s %.2f×%n", k, JobsBench.pct(rows.get(k), 99) / base);
        }
        System.out.printf(Locale.ROOT, "%nfreeze latency, input signalled → both guests' processes stopped (%s), %d times:%n"
                + "p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n", freezer, freezes, JobsBench.pct(freezeMs, 50),
                JobsBench.pct(freezeMs, 90), JobsBench.pct(freezeMs, 99), JobsBench.pct(freezeMs, 100));
        System.out.println("load average at end " + loadAvg());
    }

    /**
     * How late a sleep of {@code periodMs} wakes up, in ms, for {@code seconds}. With {@code input},
     * the owner also "types": the input file is touched every 200 ms (and the measurement starts
     * once the guests are frozen).
     */
    private static double[] wakeups(int seconds, int periodMs, Path input, List<Long> guests)
            throws IOException, InterruptedException {
        if (input != null) {
            touch(input);
            awaitAll(guests, true);
        }
        long period = periodMs * 1_000_000L;
        int max = (int) (seconds * 1000L / periodMs) + 1;
        double[] late = new double[max];
        int n = 0;
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long lastTouch = System.nanoTime();
        while (n < max && System.nanoTime() < end) {
            long t0 = System.nanoTime();
            LockSupport.parkNanos(period);
            late[n++] = (System.nanoTime() - t0 - period) / 1e6;
            if (input != null && t0 - lastTouch > TOUCH_EVERY_MILLIS * 1_000_000L) {
                touch(input);
                lastTouch = t0;
            }
        }
        return java.util.Arrays.copyOf(late, n);
    }

    private static int running(BenchCluster c) throws IOException {
        int n = 0;
        for (var j : c.call(0, ControlRequest.newBuilder().setPs(PsRequest.getDefaultInstance()).build()).getPs().getJobsList()) {
            if (j.getState().equals("running")) n++;
        }
        return n;
    }

    private static void awaitGone(List<Long> pids) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (pids.stream().anyMatch(p -> ProcessHandle.of(p).isPresent())) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("cancelled guests still run after 60 s: " + pids);
            Thread.sleep(20);
        }
    }

    private static void awaitAll(List<Long> pids, boolean frozen) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (allFrozen(pids) != frozen) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("guests not " + (frozen ? "frozen" : "thawed") + " within 60 s");
            Thread.sleep(5);
        }
    }

    /** The guests' shells (their command line carries the marker), not their bwrap parents. */
    private static List<Long> guestPids(String marker) {
        List<Long> out = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(h -> {
            String cmd = io.herd.executor.CommandLines.of(h.pid());
            if (cmd.contains(marker) && !cmd.startsWith("/usr/bin/bwrap") && !cmd.startsWith("bwrap")) out.add(h.pid());
        });
        return out;
    }

    private static boolean allFrozen(List<Long> pids) {
        for (long p : pids) if (how(p) == null) return false;
        return true;
    }

    /** "cgroup freezer" or "SIGSTOP" when the process is stopped, else null. */
    private static String how(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            if (stat.charAt(stat.lastIndexOf(')') + 2) == 'T') return "SIGSTOP";
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3 && f[1].equals("freezer")) {
                    Path state = Path.of("/sys/fs/cgroup/freezer" + f[2], "freezer.state");
                    if (Files.exists(state) && Files.readString(state).trim().equals("FROZEN")) return "cgroup freezer";
                }
                if (f.length == 3 && f[0].equals("0")) {
                    for (Path root : List.of(Path.of("/sys/fs/cgroup"), Path.of("/sys/fs/cgroup/unified"))) {
                        Path events = Path.of(root + f[2], "cgroup.events");
                        if (Files.exists(events) && Files.readString(events).contains("frozen 1")) return "cgroup freezer";
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
        return null;
    }

    private static void reniceThisThread() {
        try {
            String tid = Path.of("/proc/thread-self").toRealPath().getFileName().toString();
            new ProcessBuilder("renice", "-n", "-10", "-p", tid).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException | InterruptedException e) {
            System.err.println("could not renice the measuring thread: " + e);
        }
    }

    private static void touch(Path f) throws IOException {
        if (!Files.exists(f)) Files.writeString(f, "");
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(1)));
    }

    private static String loadAvg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static String cpuModel() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (l.startsWith("model name")) return l.substring(l.indexOf(':') + 1).trim();
            }
        } catch (IOException e) {
            // unknown
        }
        return "unknown CPU";
    }
}
