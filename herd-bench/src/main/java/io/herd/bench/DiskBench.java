package io.herd.bench;

import static io.herd.bench.BenchArgs.intArg;

import io.herd.api.proto.CancelJobsRequest;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.JobSpecMsg;
import io.herd.api.proto.PsRequest;
import io.herd.api.proto.SubmitRequest;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Figures of issue 6 ("the owner's disk and memory stay theirs") for BENCHMARKS.md:
 *
 * <pre>
 * herd-bench/run DiskBench [--seconds 20] [--mem-gib N] [--dd-mib 256] [--settle 10]
 * </pre>
 *
 * The owner (this JVM, nice 0, in the owner's own cgroups) repeats: a 4 KiB write + fsync into a
 * file on the machine's disk, then a 20 ms compute burst (a fixed amount of work that takes 20 ms
 * on an idle core). It records both the write + fsync time and the whole iteration, for
 * {@code --seconds} in each of four conditions, side by side in one run, with a 2-node cluster up:
 * <ol>
 *   <li>alone (the two daemons idle, {@code --settle} seconds after they started, so their start-up
 *       JIT work is not in the baseline);</li>
 *   <li>one I/O-heavy loop ({@code dd bs=1M count=256 conv=fsync}, again and again) under plain
 *       {@code nice -n 19 ionice -c3};</li>
 *   <li>the same loop as a herd guest (submitted at node 1, run on node 2 in its sandbox: the node's
 *       default policy, guest-io 50MB/s, the owner's write-latency back-off on);</li>
 *   <li>a memory-heavy herd guest: {@code head -c SIZE /dev/zero | tail} again and again, which holds
 *       SIZE in memory, with {@code --mem} of {@code --mem-gib} (default 60% of RAM) and SIZE beyond
 *       it: unchecked it would fill its limit, be OOM-killed and start again; herd holds its new
 *       memory to {@code guest-mem-rate} while the owner works, and stops the job at its first OOM
 *       kill.</li>
 * </ol>
 * Everything is removed at the end.
 */
public final class DiskBench {

    private static final String ROW_ALONE = "alone (2 idle daemons up)";
    private static final String ROW_NICE = "dd loop under nice 19 + ionice -c3";
    private static final String ROW_HERD = "dd loop as a herd guest";
    private static final String ROW_MEM = "memory-heavy herd guest";

    public static void main(String[] args) throws Exception {
        int seconds = intArg(args, "--seconds", 20);
        int ddMib = intArg(args, "--dd-mib", 256);
        int settle = intArg(args, "--settle", 10);
        long ram = memTotal();
        int memGib = intArg(args, "--mem-gib", (int) Math.max(1, ram * 6 / 10 >> 30));
        System.out.println("machine: " + Runtime.getRuntime().availableProcessors() + " CPUs, " + (ram >> 20) + " MiB RAM, "
                + "load average at start " + loadAvg());
        System.setProperty("herd.daemonOpts", "-Dherd.guest-account=nobody -Dherd.ownerInput=owner/input");
        Map<String, double[][]> rows = new LinkedHashMap<>();
        long burst = calibrateBurst();
        String dd = "while :; do dd if=/dev/zero of=big.bin bs=1M count=" + ddMib + " conv=fsync 2>/dev/null; rm -f big.bin; done";
        try (BenchCluster c = BenchCluster.start(2)) {
            Path ownerFile = c.root().resolve("owner-file");
            try (FileChannel owner = FileChannel.open(ownerFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                Thread.sleep(settle * 1000L);
                rows.put(ROW_ALONE, measure(owner, burst, seconds));

                Path scratch = Files.createDirectories(c.root().resolve("niced"));
                Process niced = new ProcessBuilder("nice", "-n", "19", "ionice", "-c3", "sh", "-c", dd).directory(scratch.toFile())
                        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                try {
                    Thread.sleep(1000);   // the loop gets going
                    rows.put(ROW_NICE, measure(owner, burst, seconds));
                } finally {
                    killTree(niced.toHandle());
                }

                String marker = "herd-diskbench-" + ProcessHandle.current().pid();
                String id = submit(c, dd + " # " + marker + "-io", 0);
                awaitRunning(c, marker + "-io");
                Thread.sleep(1000);
                System.out.println("guest I/O control: " + throttleOf(marker + "-io"));
                rows.put(ROW_HERD, measure(owner, burst, seconds));
                cancel(c, id, marker + "-io");
                printBackoff(c, "dd loop");

                long size = (memGib + 4L) << 30;
                String mem = "while :; do head -c " + size + " /dev/zero | tail > /dev/null; done";
                id = submit(c, mem + " # " + marker + "-mem", (long) memGib << 30);
                awaitRunning(c, marker + "-mem");
                Thread.sleep(1000);
                rows.put(ROW_MEM, measure(owner, burst, seconds));
                System.out.println("memory guest: " + memoryOf(marker + "-mem"));
                cancel(c, id, marker + "-mem");
                printBackoff(c, "memory guest");
            } finally {
                Files.deleteIfExists(ownerFile);
            }
        }
        System.out.printf(Locale.ROOT, "%nowner: 4 KiB write + fsync, then a 20 ms compute burst; %d s per condition "
                + "(ms; memory guest --mem %dG)%n", seconds, memGib);
        System.out.printf(Locale.ROOT, "%-38s %9s %9s %9s %9s %9s %6s%n", "", "fsync p50", "fsync p99", "iter p50", "iter p99",
                "iter max", "n");
        for (Map.Entry<String, double[][]> e : rows.entrySet()) {
            double[] f = e.getValue()[0];
            double[] it = e.getValue()[1];
            System.out.printf(Locale.ROOT, "%-38s %9.2f %9.2f %9.2f %9.2f %9.2f %6d%n", e.getKey(), JobsBench.pct(f, 50),
                    JobsBench.pct(f, 99), JobsBench.pct(it, 50), JobsBench.pct(it, 99), JobsBench.pct(it, 100), f.length);
        }
        double f0 = JobsBench.pct(rows.get(ROW_ALONE)[0], 99);
        double i0 = JobsBench.pct(rows.get(ROW_ALONE)[1], 99);
        for (String k : rows.keySet()) {
            System.out.printf(Locale.ROOT, "p99 ratio to alone: %-38s write+fsync %.2f×, iteration %.2f×%n", k,
                    JobsBench.pct(rows.get(k)[0], 99) / f0, JobsBench.pct(rows.get(k)[1], 99) / i0);
        }
        System.out.println("load average at end " + loadAvg());
    }

    /** Owner iterations for {@code seconds}: [write+fsync ms], [whole iteration ms]. */
    private static double[][] measure(FileChannel owner, long burst, int seconds) throws IOException {
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        List<double[]> out = new ArrayList<>();
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long pos = 0;
        while (System.nanoTime() < end) {
            long t0 = System.nanoTime();
            block.clear();
            owner.write(block, pos);
            owner.force(false);
            pos = (pos + 4096) % (1 << 20);
            long t1 = System.nanoTime();
            spin(burst);
            long t2 = System.nanoTime();
            out.add(new double[] {(t1 - t0) / 1e6, (t2 - t0) / 1e6});
        }
        double[][] r = new double[2][out.size()];
        for (int i = 0; i < out.size(); i++) {
            r[0][i] = out.get(i)[0];
            r[1][i] = out.get(i)[1];
        }
        return r;
    }

    private static volatile long sink;

    private static void spin(long n) {
        long x = 1;
        for (long i = 0; i < n; i++) x = x * 6364136223846793005L + 1442695040888963407L;
        sink = x;
    }

    /** Iterations of {@link #spin} that take 20 ms here (the fastest of a few tries: the least disturbed). */
    private static long calibrateBurst() {
        long n = 1_000_000;
        spin(n);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            spin(n);
            best = Math.min(best, (System.nanoTime() - t0) / 1e6);
        }
        return (long) (n * 20 / best);
    }

    private static String submit(BenchCluster c, String script, long memBytes) throws IOException {
        JobSpecMsg spec = JobSpecMsg.newBuilder().addAllArgv(List.of("sh", "-c", script)).setCwd(c.root().toString())
                .setNode(c.name(1)).setMaxRetries(0).setMemBytes(memBytes).build();
        return c.call(0, ControlRequest.newBuilder().setSubmit(SubmitRequest.newBuilder().setSpec(spec)).build())
                .getSubmitted().getJobId();
    }

    private static void awaitRunning(BenchCluster c, String marker) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (pids(marker).isEmpty() || running(c) < 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the guest did not start within 120 s: "
                        + c.call(0, ControlRequest.newBuilder().setPs(PsRequest.getDefaultInstance()).build()).getPs());
            }
            Thread.sleep(50);   // other processes: poll
        }
    }

    private static void cancel(BenchCluster c, String id, String marker) throws Exception {
        c.call(0, ControlRequest.newBuilder().setCancel(CancelJobsRequest.newBuilder().addJobIds(id)).build());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!pids(marker).isEmpty()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("the cancelled guest still runs after 60 s");
            Thread.sleep(20);
        }
    }

    private static int running(BenchCluster c) throws IOException {
        int n = 0;
        for (var j : c.call(0, ControlRequest.newBuilder().setPs(PsRequest.getDefaultInstance()).build()).getPs().getJobsList()) {
            if (j.getState().equals("running")) n++;
        }
        return n;
    }

    /** The guest's shell processes (their command line carries the marker), not bwrap. */
    private static List<Long> pids(String marker) {
        List<Long> out = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(h -> {
            String cmd = io.herd.executor.CommandLines.of(h.pid());
            if (cmd.contains(marker) && !cmd.startsWith("/usr/bin/bwrap") && !cmd.startsWith("bwrap")) out.add(h.pid());
        });
        return out;
    }

    /** A guest's cgroup directory: on v1 in one controller's hierarchy, on v2 the unified one. */
    private record JobCgroup(boolean v2, Path dir) {}

    /** The cgroup of the guest whose command line holds {@code marker}: v1 {@code controller}'s, else v2's; null if none. */
    private static JobCgroup cgroupOf(String marker, String controller) throws IOException {
        List<Long> p = pids(marker);
        if (p.isEmpty()) return null;
        JobCgroup unified = null;   // a hybrid system lists both: the v1 controller's wins
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(p.get(0)), "cgroup"))) {
            String[] f = line.split(":", 3);
            if (f.length != 3) continue;
            if (f[1].equals(controller)) return new JobCgroup(false, Path.of("/sys/fs/cgroup/" + controller + f[2]));
            if (f[0].equals("0")) unified = new JobCgroup(true, Path.of("/sys/fs/cgroup" + f[2]));
        }
        return unified;
    }

    private static long mib(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).trim()) >> 20;
    }

    /** The guest's blkio throttle (v1) or its guests' group io.max (v2), as the kernel shows it. */
    private static String throttleOf(String marker) {
        try {
            JobCgroup cg = cgroupOf(marker, "blkio");
            if (cg == null) return "guest not found";
            if (!cg.v2()) {
                return "v1 " + cg.dir() + ": write_bps " + Files.readString(cg.dir().resolve("blkio.throttle.write_bps_device"))
                        .trim().replace('\n', ',');
            }
            Path ioMax = cg.dir().getParent().resolve("io.max");
            return Files.exists(ioMax) ? "v2 io.max " + Files.readString(ioMax).trim() : "none found";
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e + ")";
        }
    }

    /** The guest's memory now and at its peak, from its job cgroup (v1 memory controller or v2). */
    private static String memoryOf(String marker) {
        try {
            JobCgroup cg = cgroupOf(marker, "memory");
            if (cg == null) return "guest not running (stopped or killed)";
            if (cg.v2()) return "v2 " + cg.dir() + ": memory.current " + mib(cg.dir().resolve("memory.current")) + " MiB";
            return "v1 " + cg.dir() + ": usage " + mib(cg.dir().resolve("memory.usage_in_bytes")) + " MiB, peak "
                    + mib(cg.dir().resolve("memory.max_usage_in_bytes")) + " MiB";
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e + ")";
        }
    }

    private static int logLinesSeen;

    /** The host daemon's back-off decisions since the last call: how many, and the first and last few. */
    private static void printBackoff(BenchCluster c, String what) throws IOException {
        List<String> lines = Files.readAllLines(c.data(1).resolve("daemon.log"));
        List<String> backoff = new ArrayList<>();
        for (int i = logLinesSeen; i < lines.size(); i++) {
            if (lines.get(i).contains("back-off:") || lines.get(i).contains("out of memory") || lines.get(i).contains("memory limit")) backoff.add(lines.get(i));
        }
        logLinesSeen = lines.size();
        System.out.println("host back-off during the " + what + ": " + backoff.size() + " decisions");
        for (int i = 0; i < backoff.size(); i++) {
            if (i < 4 || i >= backoff.size() - 2) System.out.println("  " + backoff.get(i));
            else if (i == 4) System.out.println("  ...");
        }
    }

    private static void killTree(ProcessHandle p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        p.onExit().join();
    }

    private static long memTotal() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (l.startsWith("MemTotal:")) return Long.parseLong(l.trim().split("\\s+")[1]) * 1024;
        }
        return 0;
    }

    private static String loadAvg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }
}
