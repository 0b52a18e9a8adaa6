package io.herd.bench;

import static io.herd.bench.BenchArgs.intArg;

import io.herd.journal.JobRecord;
import io.herd.journal.JobSpec;
import io.herd.journal.JobState;
import io.herd.journal.Journal;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The home's journal work per job, alone, with and without the prepared-statement cache, side by side:
 *
 * <pre>
 * herd-bench/run JournalBench [--jobs 4000] [--warmup 8000] [--threads 4] [--repeats 3]
 * </pre>
 *
 * Each run is a fresh JVM on a fresh journal in /tmp ({@code -Dherd.journal.statementCache=true}
 * or {@code false}, alternating, the cache's run first in odd repeats and second in even ones). It
 * submits arrays and takes each job through the writes and reads the home makes for it: placed (in
 * rounds of {@code --threads}, as the dispatcher does), running, done with its CPU time, each from
 * one of {@code --threads} threads as the host's events arrive, with the row read back as the
 * home's end of a job does. Warm-up jobs first (not counted: the JIT). It prints jobs/s and the
 * process's CPU per job, and the ratio of each pair.
 */
public final class JournalBench {

    private JournalBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--child")) {
            child(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            return;
        }
        int jobs = intArg(args, "--jobs", 4000);
        int warmup = intArg(args, "--warmup", 8000);
        int threads = intArg(args, "--threads", 4);
        int repeats = intArg(args, "--repeats", 3);
        System.out.printf(Locale.ROOT, "journal: %d jobs (after %d warm-up jobs), %d threads, fresh JVM and journal per run%n",
                jobs, warmup, threads);
        List<Double> rateRatios = new ArrayList<>();
        List<Double> cpuRatios = new ArrayList<>();
        for (int r = 1; r <= repeats; r++) {
            double[] on = null;
            double[] off = null;
            for (boolean cache : r % 2 == 1 ? new boolean[] {true, false} : new boolean[] {false, true}) {
                double[] res = runChild(cache, jobs, warmup, threads);
                System.out.printf(Locale.ROOT, "repeat %d, statement cache %-3s: %6.0f jobs/s, %.3f ms CPU per job%n",
                        r, cache ? "on" : "off", res[0], res[1]);
                if (cache) on = res; else off = res;
            }
            rateRatios.add(on[0] / off[0]);
            cpuRatios.add(on[1] / off[1]);
        }
        System.out.printf(Locale.ROOT, "cache on ÷ off: jobs/s %s (median %.2f), CPU per job %s (median %.2f)%n",
                fmt(rateRatios), median(rateRatios), fmt(cpuRatios), median(cpuRatios));
    }

    private static double[] runChild(boolean cache, int jobs, int warmup, int threads) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:+UseSerialGC", "-Dherd.journal.statementCache=" + cache, "-cp", System.getProperty("java.class.path"),
                JournalBench.class.getName(), "--child", Integer.toString(jobs), Integer.toString(warmup), Integer.toString(threads)));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) throw new IllegalStateException("run failed: " + out);
        String[] f = out.split("\\s+");
        return new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1])};
    }

    /** One run: prints "jobs/s cpu-ms-per-job" of the counted jobs. */
    private static void child(int jobs, int warmup, int threads) throws Exception {
        Path dir = Files.createTempDirectory("herd-journalbench");
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (Journal j = Journal.open(dir.resolve("journal.db"), "n1")) {
            lifecycle(j, pool, warmup, threads);
            var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
            long cpu0 = os.getProcessCpuTime();
            long t0 = System.nanoTime();
            lifecycle(j, pool, jobs, threads);
            double secs = (System.nanoTime() - t0) / 1e9;
            double cpuMs = (os.getProcessCpuTime() - cpu0) / 1e6;
            System.out.printf(Locale.ROOT, "%.1f %.4f%n", jobs / secs, cpuMs / jobs);
        } finally {
            pool.shutdownNow();
            try (var s = Files.walk(dir)) {
                s.sorted(Collections.reverseOrder()).forEach(x -> x.toFile().delete());
            }
        }
    }

    private static void lifecycle(Journal j, ExecutorService pool, int n, int threads) throws Exception {
        JobSpec template = JobSpec.of(List.of("true"), "/tmp");
        List<JobSpec> specs = Collections.nCopies(n, template);
        String array = j.submitArray("bench", template, specs, System.currentTimeMillis());
        List<JobRecord> queued = j.list(io.herd.journal.Filter.all().array(array));
        for (int i = 0; i < queued.size(); i += threads) {
            List<Journal.Placement> round = new ArrayList<>();
            for (JobRecord r : queued.subList(i, Math.min(queued.size(), i + threads))) {
                round.add(new Journal.Placement(r.id(), "n" + (1 + round.size() % 2)));
            }
            List<JobRecord> placed = j.placeAll(round, System.currentTimeMillis());
            List<Future<?>> ends = new ArrayList<>();
            for (JobRecord p : placed) {
                ends.add(pool.submit(() -> {
                    long now = System.currentTimeMillis();
                    j.transition(p.id(), new JobState.Running(p.host(), p.attempts(), now), now);
                    j.get(p.id()).orElseThrow();
                    return j.transition(p.id(), new JobState.Done(0, p.host(), now + 1), now + 1, 3);
                }));
            }
            for (Future<?> f : ends) f.get();
        }
    }

    private static String fmt(List<Double> xs) {
        List<String> s = new ArrayList<>();
        for (double x : xs) s.add(String.format(Locale.ROOT, "%.2f", x));
        return String.join(" ", s);
    }

    private static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int m = s.size() / 2;
        return s.size() % 2 == 1 ? s.get(m) : (s.get(m - 1) + s.get(m)) / 2;
    }
}
