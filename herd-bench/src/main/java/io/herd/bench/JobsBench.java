package io.herd.bench;

import static io.herd.bench.BenchArgs.intArg;
import static io.herd.bench.BenchArgs.stringArg;

import io.herd.api.proto.ArraySubmitted;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.HistoryRequest;
import io.herd.api.proto.JobInfo;
import io.herd.api.proto.JobSpecMsg;
import io.herd.api.proto.PolicyRequest;
import io.herd.api.proto.SubmitArrayRequest;
import io.herd.api.proto.SubmitRequest;
import io.herd.api.proto.WaitRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Figures of issue 3 ("Running work on the pool") for BENCHMARKS.md, on real daemons on
 * 127.0.0.1, each beside a baseline measured in the same run:
 *
 * <pre>
 * herd-bench/run JobsBench latency    [--jobs 200] [--warmup 20]
 * herd-bench/run JobsBench throughput [--jobs 2000] [--repeats 3] [--nodes 2] [--warmup 3000]
 *                                     [--jit-settle-ms 0.25] [--warmup-max 4] (warm-up rounds until the JIT is quiet)
 * herd-bench/run JobsBench hetero     [--jobs 40] [--loop 1000000] [--shares 0.8,0.6,0.4,0.2] [--repeats 3] [--warmup JOBS]
 *                                     [--sizes 100] (percents of --loop, cycled over the jobs: unequal jobs)
 *                                     [--jit-settle 0.5] [--warmup-max 4] (warm-up arrays until the JIT is quiet)
 *                                     [--settle 6] [--settle-max 300] [--timeline]
 *                                     (the contenders in a rotated order each repeat)
 * </pre>
 *
 * <ul>
 *   <li><b>latency</b>: submit→start of {@code true} on the other node of a 2-node cluster, one job at a
 *       time (each waited for before the next is submitted, so nothing queues), submitted over the
 *       control socket from this JVM; times from the home's journal ({@code herd history}). Baseline:
 *       fork/exec of {@code true} from this JVM.</li>
 *   <li><b>throughput</b>: an array of {@code true} ({@code herd submit --each 1..N -- true}), first
 *       submitted → last finished in the journal, staged and {@code --shared}, after warm-up rounds (an
 *       array of {@code --warmup} jobs of each kind, not counted) until the daemons' JIT takes under
 *       {@code --jit-settle-ms} per job over one, at most {@code --warmup-max} rounds. Baselines:
 *       {@code xargs -P 2} and GNU parallel {@code -j 2} of the same on this machine.</li>
 *   <li><b>hetero</b>: 4 nodes whose guests are capped at the given cores ({@code herd policy set
 *       guest-cpus}), an array of CPU-bound shell loops (after warm-up arrays of {@code --warmup} jobs,
 *       as many as the measured array's by default, not counted, until the daemons' JIT takes less than
 *       {@code --jit-settle} CPU-seconds over one: fresh daemons spend their first minutes in the JIT, and
 *       8 warm-up jobs left them compiling 5 of their 8 CPU-seconds during the measured array; then until
 *       the idle daemons use less than {@code --settle} percent of the CPU), with the daemons' own CPU
 *       (and their JIT's part)
 *       during each run and how many jobs moved to a free node; makespan beside {@code xargs -P 2} on the bare
 *       machine and GNU parallel over 4 fake hosts with the same CPU quotas (a cgroup each, entered by
 *       an {@code --ssh} wrapper) and equal slots per host.</li>
 * </ul>
 * Everything it makes (daemons, directories, cgroups) is removed at the end, also on failure or Ctrl-C.
 * On a shared machine, {@code --max-load L [--max-wait S]} makes each repeat wait for the 1-minute
 * load average to fall below L first.
 */
public final class JobsBench {

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: JobsBench latency|throughput|hetero [options]  (see the class comment)");
            System.exit(2);
        }
        System.out.println("machine: " + machine());
        System.out.println("load at start: " + load());
        switch (args[0]) {
            case "latency" -> latency(args);
            case "throughput" -> throughput(args);
            case "hetero" -> hetero(args);
            default -> {
                System.err.println("unknown benchmark " + args[0] + ": latency, throughput or hetero");
                System.exit(2);
            }
        }
        System.out.println("load at end: " + load());
    }

    // ------------------------------------------------------------------ latency

    static void latency(String[] args) throws Exception {
        int n = intArg(args, "--jobs", 200);
        int warmup = intArg(args, "--warmup", 20);
        try (BenchCluster c = BenchCluster.start(2)) {
            Path cwd = Files.createDirectories(c.root().resolve("work"));
            Map<String, double[]> rows = new java.util.LinkedHashMap<>();
            for (boolean shared : new boolean[] {false, true}) {
                awaitQuiet(args);
                System.out.printf(Locale.ROOT, "%s jobs, load %s%n", shared ? "--shared" : "staged", load());
                JobSpecMsg spec = JobSpecMsg.newBuilder().addArgv("true").setCwd(cwd.toString()).setNode(c.name(1))
                        .setShared(shared).setMaxRetries(0).build();
                for (int i = 0; i < warmup; i++) submitAndWait(c, spec);
                List<String> ids = new ArrayList<>();
                double[] roundTrip = new double[n];
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    ids.add(submitAndWait(c, spec));
                    roundTrip[i] = (System.nanoTime() - t0) / 1e6;
                }
                Map<String, JobInfo> hist = history(c);
                double[] toStart = new double[n];
                double[] toEnd = new double[n];
                for (int i = 0; i < n; i++) {
                    JobInfo j = hist.get(ids.get(i));
                    if (j == null || !j.getState().equals("done") || !j.getNode().equals(c.name(1))) {
                        throw new IllegalStateException("job " + ids.get(i) + " did not run to completion on " + c.name(1) + ": " + j);
                    }
                    toStart[i] = j.getStartedMs() - j.getSubmittedMs();
                    toEnd[i] = j.getFinishedMs() - j.getSubmittedMs();
                }
                String mode = shared ? "--shared" : "staged";
                rows.put("herd submit→start (" + mode + ", journal)", toStart);
                rows.put("herd submit→finish (" + mode + ", journal)", toEnd);
                rows.put("herd submit+wait round trip (" + mode + ", client)", roundTrip);
            }
            double[] fork = new double[n];
            for (int i = 0; i < warmup + n; i++) {
                long t0 = System.nanoTime();
                Process p = new ProcessBuilder("true").redirectErrorStream(true).start();
                p.waitFor();
                if (i >= warmup) fork[i - warmup] = (System.nanoTime() - t0) / 1e6;
            }
            rows.put("baseline: fork/exec + wait of `true` from Java", fork);
            System.out.printf(Locale.ROOT, "%nlatency: %d sequential jobs `true` on the other node (%s → %s), after %d warm-up jobs%n",
                    n, c.name(0), c.name(1), warmup);
            System.out.printf(Locale.ROOT, "%-52s %9s %9s %9s %9s%n", "", "p50 ms", "p90 ms", "p99 ms", "max ms");
            rows.forEach((k, v) -> System.out.printf(Locale.ROOT, "%-52s %9.1f %9.1f %9.1f %9.1f%n", k,
                    pct(v, 50), pct(v, 90), pct(v, 99), pct(v, 100)));
            double herdP50 = pct(rows.get("herd submit→start (staged, journal)"), 50);
            System.out.printf(Locale.ROOT, "ratio: herd submit→start p50 (staged) / fork-exec p50 = %.1f×%n", herdP50 / pct(fork, 50));
        }
    }

    private static String submitAndWait(BenchCluster c, JobSpecMsg spec) throws IOException {
        String id = c.call(0, ControlRequest.newBuilder().setSubmit(SubmitRequest.newBuilder().setSpec(spec)).build())
                .getSubmitted().getJobId();
        c.call(0, ControlRequest.newBuilder().setWait(WaitRequest.newBuilder().addJobIds(id)).build());
        return id;
    }

    // ------------------------------------------------------------------ throughput

    /**
     * Scripts that run {@code true} through the chains a guest job runs on a host of this machine
     * (session, I/O class, sandbox, signal reset, the guests' account), minus the cgroup: what the
     * sandbox alone costs per job. {@code fresh} builds a bubblewrap sandbox for each job; {@code
     * kept} enters one sandbox kept running, as herd's guests do where it keeps sandboxes (null
     * elsewhere). Both null where this machine gives guests no sandbox (not root, no working bwrap).
     */
    record GuestChains(Path fresh, Path kept, io.herd.executor.WarmSandboxes pool,
                       io.herd.executor.WarmSandboxes.Lease lease) implements AutoCloseable {
        static GuestChains write(BenchCluster c, Path workDir, io.herd.executor.Cgroups cgroups) throws IOException {
            io.herd.executor.Sandbox sandbox = io.herd.executor.Sandbox.detect(List.of(c.root()),
                    System.getProperty("herd.guest-account", io.herd.executor.Sandbox.DEFAULT_ACCOUNT));
            if (!sandbox.available()) {
                System.out.println("no guest-chain baseline: " + sandbox.describe());
                return new GuestChains(null, null, null, null);
            }
            io.herd.executor.ProcessRunner runner = new io.herd.executor.ProcessRunner(cgroups, sandbox);
            io.herd.executor.WarmSandboxes pool = runner.warmSandboxes(Files.createDirectories(c.root().resolve("bench-sandboxes")))
                    .orElse(null);
            io.herd.executor.WarmSandboxes.Lease lease = null;
            boolean written = false;
            try {
                // As herd starts it: where its guests inherit the idle I/O class from their launcher thread, the
                // chain has no ionice and the bench runs it under `ionice -c 3 xargs`.
                io.herd.executor.LaunchSpec.Guest guest = new io.herd.executor.LaunchSpec.Guest(false, 0, 0);
                Path fresh = chainScript(c, "guest-chain.sh", runner.guestChainAsStarted(
                        new io.herd.executor.LaunchSpec("bench", List.of("true"), workDir, Map.of(), false, null, guest)));
                Path kept = null;
                if (pool != null) {
                    lease = pool.acquire("bench/" + System.getProperty("user.name"), false, null);
                    kept = chainScript(c, "kept-guest-chain.sh", runner.guestChainAsStarted(new io.herd.executor.LaunchSpec(
                            "bench", List.of("true"), lease.dir(), Map.of(), false, null, guest.in(lease))));
                }
                written = true;
                return new GuestChains(fresh, kept, pool, lease);
            } catch (io.herd.executor.LaunchException e) {
                throw new IOException(e.getMessage(), e);
            } finally {
                if (!written && pool != null) pool.close();
            }
        }

        @Override
        public void close() {
            if (lease != null) lease.release();
            if (pool != null) pool.close();
        }
    }

    /**
     * A script that runs {@code true} through the chain a job of the node's own user runs (session,
     * cgroup join, signal reset), joining one cgroup made for the bench: what the chain costs per
     * job beside the daemons' own work, the cgroup's making and removal left out.
     */
    record OwnerChain(Path script, io.herd.executor.Cgroups cgroups) implements AutoCloseable {
        static OwnerChain write(BenchCluster c, Path workDir) throws IOException {
            io.herd.executor.Cgroups cg = io.herd.executor.Cgroups.detect("herd-bench-chain-" + ProcessHandle.current().pid());
            String name = null;
            if (cg.available()) {
                cg.create("chain");
                name = "chain";
            } else {
                System.out.println("owner chain without a cgroup: " + cg.describe());
            }
            List<String> argv;
            try {
                argv = new io.herd.executor.ProcessRunner(cg, io.herd.executor.Sandbox.none("owner jobs"))
                        .ownerChain(new io.herd.executor.LaunchSpec("bench", List.of("true"), workDir, Map.of(), false, null), name);
            } catch (io.herd.executor.LaunchException e) {
                cg.removeAll();
                throw new IOException(e.getMessage(), e);
            }
            return new OwnerChain(chainScript(c, "owner-chain.sh", argv), cg);
        }

        @Override
        public void close() {
            cgroups.removeAll();
        }
    }

    private static Path chainScript(BenchCluster c, String file, List<String> argv) throws IOException {
        StringBuilder sh = new StringBuilder("#!/bin/sh\n# herd's chain around true (the item argument is ignored)\nexec");
        for (String a : argv) sh.append(" '").append(a.replace("'", "'\\''")).append('\'');
        Path script = c.root().resolve(file);
        Files.writeString(script, sh.append('\n').toString());
        script.toFile().setExecutable(true);
        System.out.println(file + " (" + script + "): " + String.join(" → ", argv.stream()
                .filter(a -> a.startsWith("/") && !a.contains("\n") && Files.isRegularFile(Path.of(a)) && Files.isExecutable(Path.of(a)))
                .map(a -> Path.of(a).getFileName().toString()).toList()));
        return script;
    }

    static void throughput(String[] args) throws Exception {
        int n = intArg(args, "--jobs", 2000);
        int repeats = intArg(args, "--repeats", 3);
        int nodes = intArg(args, "--nodes", 2);
        boolean haveParallel = onPath("parallel");
        try (BenchCluster c = BenchCluster.start(nodes);
             OwnerChain ownerChain = OwnerChain.write(c, Files.createDirectories(c.root().resolve("work")));
             GuestChains guestChains = GuestChains.write(c, c.root().resolve("work"), ownerChain.cgroups())) {
            Path cwd = c.root().resolve("work");
            Path items = writeItems(c.root(), n);
            Map<String, List<Double>> rate = new java.util.LinkedHashMap<>();
            Map<String, List<Double>> wall = new java.util.LinkedHashMap<>();
            Map<String, String> notes = new HashMap<>();
            // Daemons run for days: measure them warm (JIT-compiled), not in their first seconds. HotSpot
            // compiles a method with C2 after thousands of calls, so a method called once per job needs
            // thousands of jobs: with 500 the C2 threads still took a fifth of the machine in the runs.
            // Even after 6,000 jobs C2 still took a fifth of the home's CPU: warm-up rounds (an array staged,
            // one --shared) go on until the daemons' JIT takes under --jit-settle-ms per job over a round,
            // at most --warmup-max rounds.
            int warmup = intArg(args, "--warmup", 3000);
            double jitSettleMs = Double.parseDouble(stringArg(args, "--jit-settle-ms", "0.25"));
            int warmupMax = intArg(args, "--warmup-max", 4);
            for (int round = 1; warmup > 0 && round <= warmupMax; round++) {
                Duration jit0 = c.daemonJitCpu();
                for (boolean shared : new boolean[] {false, true}) {
                    ArrayRun w = runArray(c, JobSpecMsg.newBuilder().addArgv("true").setCwd(cwd.toString()).setShared(shared).build(), warmup);
                    System.out.printf(Locale.ROOT, "warm-up %d: %d jobs%s at %.0f jobs/s (not counted)%n", round, warmup,
                            shared ? " --shared" : "", warmup / w.journalSeconds);
                }
                double jitPerJob = c.daemonJitCpu().minus(jit0).toNanos() / 1e6 / (2.0 * warmup);
                System.out.printf(Locale.ROOT, "warm-up %d: the daemons' JIT %.2f ms per job%n", round, jitPerJob);
                if (jitPerJob < jitSettleMs) break;
            }
            for (int r = 1; r <= repeats; r++) {
                awaitQuiet(args);
                System.out.printf(Locale.ROOT, "repeat %d/%d, load %s%n", r, repeats, load());
                Map<String, Long> atHome = new java.util.LinkedHashMap<>();   // the run's jobs the home ran (owner chain)
                for (boolean shared : new boolean[] {false, true}) {
                    String key = "herd submit --each 1.." + n + (shared ? " --shared" : "") + " -- true";
                    JobSpecMsg t = JobSpecMsg.newBuilder().addArgv("true").setCwd(cwd.toString()).setShared(shared).build();
                    long[] cpu0 = new long[nodes];
                    long[] jit0 = new long[nodes];
                    for (int i = 0; i < nodes; i++) {
                        cpu0[i] = c.daemonCpu(i).toNanos();
                        jit0[i] = c.daemonJitCpu(i).toNanos();
                    }
                    ArrayRun run = runArray(c, t, n);
                    atHome.put(key, run.perNode.getOrDefault(c.name(0), 0L));
                    List<String> perJob = new ArrayList<>();
                    for (int i = 0; i < nodes; i++) {
                        perJob.add(String.format(Locale.ROOT, "%.1f (JIT %.1f)", (c.daemonCpu(i).toNanos() - cpu0[i]) / 1e6 / n,
                                (c.daemonJitCpu(i).toNanos() - jit0[i]) / 1e6 / n));
                    }
                    rate.computeIfAbsent(key, k -> new ArrayList<>()).add(n / run.journalSeconds);
                    wall.computeIfAbsent(key, k -> new ArrayList<>()).add(run.clientSeconds);
                    double busy = run.runMs.values().stream().mapToLong(Long::longValue).sum()
                            / (1000.0 * run.journalSeconds * nodes * Runtime.getRuntime().availableProcessors());
                    notes.merge(key, String.format(Locale.ROOT,
                            "[median start→finish %.0f ms, slots busy %.0f %%, per node %s, daemons' CPU ms per job (home first) %s]",
                            run.medianRunMs, 100 * busy, run.perNode.values(), perJob), (a, b) -> a + " " + b);
                    if (run.failed > 0) throw new IllegalStateException(run.failed + " jobs of " + key + " did not end done");
                }
                String xargs = "xargs -P 2 -n 1 true";
                double xs = timeCommand(items, List.of("xargs", "-P", "2", "-n", "1", "true"));
                rate.computeIfAbsent(xargs, k -> new ArrayList<>()).add(n / xs);
                wall.computeIfAbsent(xargs, k -> new ArrayList<>()).add(xs);
                String ownerKey = "xargs -P 2 -n 1 OWNER-CHAIN true";
                double os = timeCommand(items, List.of("xargs", "-P", "2", "-n", "1", ownerChain.script().toString()));
                rate.computeIfAbsent(ownerKey, k -> new ArrayList<>()).add(n / os);
                wall.computeIfAbsent(ownerKey, k -> new ArrayList<>()).add(os);
                double guestSeconds = -1;
                for (Path chain : java.util.Arrays.asList(guestChains.fresh(), guestChains.kept())) {
                    if (chain == null) continue;
                    boolean kept = chain.equals(guestChains.kept());
                    String key = "xargs -P 2 -n 1 " + (kept ? "KEPT-GUEST-CHAIN" : "GUEST-CHAIN") + " true";
                    List<String> guestXargs = new ArrayList<>(List.of("xargs", "-P", "2", "-n", "1", chain.toString()));
                    if (!Files.readString(chain).contains("/ionice'")) {
                        guestXargs.addAll(0, List.of("ionice", "-c", "3"));   // the class herd's guests inherit
                        notes.putIfAbsent(key, "[under ionice -c 3, as herd's guests' launcher thread]");
                    }
                    double cs = timeCommand(items, guestXargs);
                    rate.computeIfAbsent(key, k -> new ArrayList<>()).add(n / cs);
                    wall.computeIfAbsent(key, k -> new ArrayList<>()).add(cs);
                    guestSeconds = cs;   // the kept chain's, where herd's guests use it
                }
                if (guestSeconds > 0) {
                    // The machine doing nothing but the run's process chains: the home's jobs through the
                    // owner chain, the others' through the guest chain herd uses, each at its bare xargs -P 2 rate.
                    for (Map.Entry<String, Long> e : atHome.entrySet()) {
                        double seconds = e.getValue() * os / n + (n - e.getValue()) * guestSeconds / n;
                        notes.merge(e.getKey(), String.format(Locale.ROOT, "[its process chains alone: %.0f jobs/s]", n / seconds),
                                (a, b) -> a + " " + b);
                    }
                }
                if (haveParallel) {
                    String par = "parallel -j 2 true";
                    double ps = timeCommand(items, List.of("parallel", "--will-cite", "-j", "2", "true"));
                    rate.computeIfAbsent(par, k -> new ArrayList<>()).add(n / ps);
                    wall.computeIfAbsent(par, k -> new ArrayList<>()).add(ps);
                }
            }
            System.out.printf(Locale.ROOT, "%nthroughput: %d jobs `true`, %d-node cluster (%d guest slots each), median of %d%n",
                    n, nodes, Runtime.getRuntime().availableProcessors(), repeats);
            System.out.printf(Locale.ROOT, "%-48s %12s %10s  %s%n", "", "jobs/s", "wall s", "runs (jobs/s)");
            for (String k : rate.keySet()) {
                System.out.printf(Locale.ROOT, "%-48s %12.0f %10.2f  %s %s%n", k, median(rate.get(k)), median(wall.get(k)),
                        rate.get(k).stream().map(x -> String.format(Locale.ROOT, "%.0f", x)).collect(Collectors.joining(" ")),
                        notes.getOrDefault(k, ""));
            }
            System.out.println("herd jobs/s: jobs ÷ (last finishedMs − first submittedMs) from the home's journal; "
                    + "wall s for herd: client, from sending the array to the wait returning; baselines: wall of the command");
        }
    }

    /** One array through the control socket, waited for; its figures from the journal. */
    private static ArrayRun runArray(BenchCluster c, JobSpecMsg template, int n) throws IOException {
        return runArray(c, template, IntStream.rangeClosed(1, n).mapToObj(Integer::toString).toList());
    }

    /** One array of the given items (each appended to the template's command). */
    private static ArrayRun runArray(BenchCluster c, JobSpecMsg template, List<String> items) throws IOException {
        int n = items.size();
        SubmitArrayRequest req = SubmitArrayRequest.newBuilder().setTemplate(template).addAllItems(items).build();
        long t0 = System.nanoTime();
        ArraySubmitted a = c.call(0, ControlRequest.newBuilder().setSubmitArray(req).build()).getArraySubmitted();
        c.call(0, ControlRequest.newBuilder().setWait(WaitRequest.newBuilder().addAllJobIds(a.getJobIdsList())).build());
        double client = (System.nanoTime() - t0) / 1e9;
        List<JobInfo> jobs = history(c).values().stream().filter(j -> j.getArrayId().equals(a.getArrayId())).toList();
        if (jobs.size() != n) throw new IllegalStateException("history holds " + jobs.size() + " jobs of array " + a.getArrayId() + ", not " + n);
        long first = jobs.stream().mapToLong(JobInfo::getSubmittedMs).min().orElseThrow();
        long last = jobs.stream().mapToLong(JobInfo::getFinishedMs).max().orElseThrow();
        Map<String, Long> perNode = new TreeMap<>(jobs.stream().collect(Collectors.groupingBy(JobInfo::getNode, Collectors.counting())));
        Map<String, Long> runMs = new TreeMap<>(jobs.stream().collect(Collectors.groupingBy(JobInfo::getNode,
                Collectors.summingLong(j -> j.getFinishedMs() - j.getStartedMs()))));
        int failed = (int) jobs.stream().filter(j -> !j.getState().equals("done") || j.getExitCode() != 0).count();
        double[] run = jobs.stream().mapToDouble(j -> j.getFinishedMs() - j.getStartedMs()).toArray();
        Map<String, String> timeline = new TreeMap<>();
        jobs.stream().sorted(java.util.Comparator.comparingLong(JobInfo::getStartedMs)).forEach(j -> timeline.merge(j.getNode(),
                String.format(Locale.ROOT, "%.1f-%.1f", (j.getStartedMs() - first) / 1000.0, (j.getFinishedMs() - first) / 1000.0),
                (x, y) -> x + " " + y));
        return new ArrayRun((last - first) / 1000.0, client, perNode, runMs, failed, pct(run, 50), a.getJobIdsList(), timeline);
    }

    /**
     * @param medianRunMs median of the jobs' started → finished in the journal
     * @param timeline    per node, its jobs' started-finished seconds after the first submission, by start
     */
    private record ArrayRun(double journalSeconds, double clientSeconds, Map<String, Long> perNode, Map<String, Long> runMs,
                            int failed, double medianRunMs, List<String> jobIds, Map<String, String> timeline) {}

    // ------------------------------------------------------------------ heterogeneous

    static void hetero(String[] args) throws Exception {
        int jobs = intArg(args, "--jobs", 40);
        int loop = intArg(args, "--loop", 1_000_000);
        int repeats = intArg(args, "--repeats", 3);
        int warmup = intArg(args, "--warmup", jobs);
        double[] shares = Arrays.stream(stringArg(args, "--shares", "0.8,0.6,0.4,0.2").split(","))
                .mapToDouble(Double::parseDouble).toArray();
        String unit = "i=0; while [ $i -lt " + loop + " ]; do i=$((i+1)); done";
        // --sizes: job k runs sizes[k mod n] percent of the loop (as the tiles of a scene differ), given as
        // its item, the same to every contender; the default, all 100, is the array of equal jobs.
        int[] sizes = Arrays.stream(stringArg(args, "--sizes", "100").split(",")).mapToInt(Integer::parseInt).toArray();
        if (Arrays.stream(sizes).anyMatch(x -> x <= 0)) throw new IllegalArgumentException("--sizes: percents must be positive");
        boolean equal = Arrays.stream(sizes).allMatch(x -> x == 100);
        String script = equal ? unit : "i=0; n=$((" + loop + " * $0 / 100)); while [ $i -lt $n ]; do i=$((i+1)); done";
        List<String> itemList = IntStream.range(0, jobs).mapToObj(k -> Integer.toString(equal ? k + 1 : sizes[k % sizes.length])).toList();
        double work = equal ? jobs : IntStream.range(0, jobs).mapToDouble(k -> sizes[k % sizes.length] / 100.0).sum();
        boolean timeline = List.of(args).contains("--timeline");
        boolean haveParallel = onPath("parallel");
        if (!haveParallel) System.out.println("GNU parallel is not installed (apt-get install -y parallel): its baseline is skipped");
        try (BenchCluster c = BenchCluster.start(shares.length);
             CpuSlices slices = new CpuSlices("herd-bench-par-" + ProcessHandle.current().pid())) {
            for (int i = 0; i < shares.length; i++) {
                c.call(i, ControlRequest.newBuilder().setPolicy(PolicyRequest.newBuilder().setKey("guest-cpus")
                        .setValue(Double.toString(shares[i]))).build());
            }
            Map<String, Double> want = new HashMap<>();
            for (int i = 0; i < shares.length; i++) want.put(c.name(i), shares[i]);
            c.awaitNodes(0, v -> Math.abs(v.getGuestCpus() - want.get(v.getName())) < 1e-6, Duration.ofSeconds(60));

            List<String> hosts = new ArrayList<>();
            for (int i = 0; i < shares.length; i++) {
                hosts.add("p" + (i + 1));
                slices.node("p" + (i + 1), shares[i]);
            }
            Path wrapper = c.root().resolve("par-ssh");
            Files.writeString(wrapper, slices.wrapper());
            Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path items = c.root().resolve("items");
            Files.write(items, itemList);
            Path cwd = Files.createDirectories(c.root().resolve("work"));

            for (int i = 0; i < shares.length; i++) {
                var cap = io.herd.executor.Cgroups.detect(c.cgroupName(i)).guestCpuShare();
                System.out.printf(Locale.ROOT, "%s: guest CPU quota in force %s cores%n", c.name(i),
                        cap.isPresent() ? String.format(Locale.ROOT, "%.2f", cap.getAsDouble()) : "none (!)");
            }
            // One job alone: the unit of work, as CPU time (its wall time on a busy machine would count others' work).
            List<Double> single = new ArrayList<>();
            for (int i = 0; i < 3; i++) single.add(cpuSeconds(unit));
            double t1 = median(single);
            double total = Arrays.stream(shares).sum();

            // Fresh daemons spend minutes compiling (C1/C2) what a daemon that runs for days compiles once: warm-up
            // arrays until the daemons' JIT takes under --jit-settle CPU-seconds over one (at most --warmup-max arrays).
            double jitSettle = Double.parseDouble(stringArg(args, "--jit-settle", "0.5"));
            int warmupMax = intArg(args, "--warmup-max", 4);
            for (int w = 1; warmup > 0 && w <= warmupMax; w++) {
                Duration jit0 = c.daemonJitCpu();
                ArrayRun run = runArray(c, JobSpecMsg.newBuilder().addAllArgv(List.of("sh", "-c", unit)).setCwd(cwd.toString())
                        .build(), warmup);
                double jit = c.daemonJitCpu().minus(jit0).toMillis() / 1000.0;
                System.out.printf(Locale.ROOT, "warm-up %d: %d jobs in %.1f s, the daemons' JIT %.1f s of CPU (not counted)%n",
                        w, warmup, run.clientSeconds, jit);
                if (jit < jitSettle) break;
            }
            awaitDaemonsSettled(c, Double.parseDouble(stringArg(args, "--settle", "6")), intArg(args, "--settle-max", 300));
            Map<String, List<Double>> makespan = new java.util.LinkedHashMap<>();
            Map<String, List<String>> detail = new java.util.LinkedHashMap<>();
            String xargsKey = "xargs -P 2 (bare machine, " + Runtime.getRuntime().availableProcessors() + " cores)";
            String herdKey = "herd submit --each 1.." + jobs + " (4 nodes)";
            // Each repeat runs the contenders in a rotated order, so a slow spell of this VM (its speed
            // drifts by tens of percent over minutes) does not always fall on the same one.
            List<Contender> contenders = new ArrayList<>();
            contenders.add(r -> {
                double xs = timeCommand(items, List.of("xargs", "-P", "2", "-n", "1", "sh", "-c", script));
                makespan.computeIfAbsent(xargsKey, k -> new ArrayList<>()).add(xs);
            });
            contenders.add(r -> {
                // Staged, as users run jobs by default (a sandbox directory each): a job may then move.
                JobSpecMsg t = JobSpecMsg.newBuilder().addAllArgv(List.of("sh", "-c", script)).setCwd(cwd.toString()).build();
                Duration daemons0 = c.daemonCpu();
                Duration jit0 = c.daemonJitCpu();
                Duration self0 = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO);
                ArrayRun run = runArray(c, t, itemList);
                double daemonsCpu = c.daemonCpu().minus(daemons0).toMillis() / 1000.0;
                double jitCpu = c.daemonJitCpu().minus(jit0).toMillis() / 1000.0;
                double selfCpu = ProcessHandle.current().info().totalCpuDuration().orElse(Duration.ZERO).minus(self0).toMillis() / 1000.0;
                if (run.failed > 0) throw new IllegalStateException(run.failed + " herd jobs did not end done");
                makespan.computeIfAbsent(herdKey, k -> new ArrayList<>()).add(run.clientSeconds);
                Map<String, String> byNode = new TreeMap<>();
                for (int i = 0; i < shares.length; i++) {
                    String name = c.name(i);
                    byNode.put(name, String.format(Locale.ROOT, "%s(%.1f):%d jobs/%.0fs", name.substring(name.lastIndexOf('-') + 1),
                            shares[i], run.perNode.getOrDefault(name, 0L), run.runMs.getOrDefault(name, 0L) / 1000.0));
                }
                long moved = 0;
                for (String id : run.jobIds) {
                    moved += c.call(0, ControlRequest.newBuilder().setHistory(HistoryRequest.newBuilder().setJobId(id)).build())
                            .getHistory().getEventsList().stream().filter(e -> e.getDetail().contains("moved:")).count();
                }
                detail.computeIfAbsent(herdKey, k -> new ArrayList<>()).add(String.format(Locale.ROOT,
                        "journal %.1fs; %s; %d moved; daemons' CPU %.1fs (%.1f %% of 2 cores; JIT %.1fs), bench client's %.1fs",
                        run.journalSeconds, String.join(" ", byNode.values()), moved, daemonsCpu,
                        100 * daemonsCpu / (run.clientSeconds * Runtime.getRuntime().availableProcessors()), jitCpu, selfCpu));
                if (timeline) {
                    System.out.printf(Locale.ROOT, "herd timeline, repeat %d (per node: started-finished, s after submission):%n", r);
                    run.timeline.forEach((node, spans) -> System.out.println("  " + node + ": " + spans));
                }
            });
            if (haveParallel) {
                for (int slots : new int[] {2, 1}) {
                    contenders.add(r -> {
                        String key = "GNU parallel --ssh, " + slots + " slot" + (slots == 1 ? "" : "s") + "/node (4 nodes)";
                        String logins = hosts.stream().map(h -> slots + "/" + h).collect(Collectors.joining(","));
                        Path joblog = c.root().resolve("joblog-" + slots + "-" + r);
                        double ps = timeCommand(items, List.of("parallel", "--will-cite", "--ssh", wrapper.toString(),
                                "-S", logins, "--joblog", joblog.toString(), "sh -c '" + script + "'"));
                        makespan.computeIfAbsent(key, k -> new ArrayList<>()).add(ps);
                        detail.computeIfAbsent(key, k -> new ArrayList<>()).add(parallelPerHost(joblog, hosts, shares));
                    });
                }
            }
            for (int r = 1; r <= repeats; r++) {
                awaitQuiet(args);
                System.out.printf(Locale.ROOT, "repeat %d/%d, load %s%n", r, repeats, load());
                for (int k = 0; k < contenders.size(); k++) contenders.get((k + r - 1) % contenders.size()).run(r);
            }
            double ideal = work * t1 / total;
            System.out.printf(Locale.ROOT, "%nhetero: %d jobs `sh -c '%s'`%s, one of 100 %% alone %.2f s of CPU (median of 3);"
                            + " node CPU caps %s = %.1f cores; ideal makespan %.1f × %.2f / %.1f = %.1f s%n",
                    jobs, script, equal ? "" : " with items " + Arrays.toString(sizes) + " % cycled", t1,
                    Arrays.toString(shares), total, work, t1, total, ideal);
            double xargsMedian = median(makespan.get(xargsKey));
            System.out.printf(Locale.ROOT, "%-46s %10s %9s %9s  %s%n", "", "makespan s", "÷ xargs", "÷ ideal", "runs");
            for (String k : makespan.keySet()) {
                double m = median(makespan.get(k));
                System.out.printf(Locale.ROOT, "%-46s %10.1f %9.2f %9.2f  %s%n", k, m, m / xargsMedian, m / ideal,
                        makespan.get(k).stream().map(x -> String.format(Locale.ROOT, "%.1f", x)).collect(Collectors.joining(" ")));
                List<String> d = detail.get(k);
                if (d != null) for (int i = 0; i < d.size(); i++) System.out.printf(Locale.ROOT, "%-46s   run %d: %s%n", "", i + 1, d.get(i));
            }
            List<Double> herdOverXargs = new ArrayList<>();
            for (int i = 0; i < repeats; i++) herdOverXargs.add(makespan.get(herdKey).get(i) / makespan.get(xargsKey).get(i));
            System.out.printf(Locale.ROOT, "herd ÷ xargs within each repeat: %s (median %.2f)%n",
                    herdOverXargs.stream().map(x -> String.format(Locale.ROOT, "%.2f", x)).collect(Collectors.joining(" ")),
                    median(herdOverXargs));
            System.out.println("herd makespan: client, from sending the array to the wait returning (journal: first submitted → last finished);"
                    + " others: wall of the command. Per node: jobs run there / sum of their run times.");
        }
    }

    /** One contender of a heterogeneous repeat; {@code r} is the repeat's number from 1. */
    private interface Contender {
        void run(int r) throws Exception;
    }

    /** Jobs per fake host and their summed run time, from parallel's --joblog. */
    private static String parallelPerHost(Path joblog, List<String> hosts, double[] shares) throws IOException {
        Map<String, Integer> count = new HashMap<>();
        Map<String, Double> secs = new HashMap<>();
        for (String line : Files.readAllLines(joblog).stream().skip(1).toList()) {
            String[] f = line.split("\t");
            if (f.length < 4) continue;
            count.merge(f[1], 1, Integer::sum);
            secs.merge(f[1], Double.parseDouble(f[3]), Double::sum);
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < hosts.size(); i++) {
            String h = hosts.get(i);
            out.add(String.format(Locale.ROOT, "%s(%.1f):%d jobs/%.0fs", h, shares[i], count.getOrDefault(h, 0), secs.getOrDefault(h, 0.0)));
        }
        return String.join(" ", out);
    }

    // ------------------------------------------------------------------ helpers

    /** Every finished job in the home's journal, by id. */
    private static Map<String, JobInfo> history(BenchCluster c) throws IOException {
        return c.call(0, ControlRequest.newBuilder().setHistory(HistoryRequest.newBuilder().setLimit(0)).build())
                .getHistory().getJobsList().stream().collect(Collectors.toMap(JobInfo::getId, Function.identity()));
    }

    /** Wall seconds of a command (stdin from {@code stdin} if given, output discarded); fails on a non-zero exit. */
    /**
     * Waits until the idle daemons together use less than {@code percent} of the machine's CPU over
     * 10 s (at most {@code maxSeconds}; 0 percent: no wait). Fresh daemons keep compiling for
     * minutes (C2), and on this bench every core-second they take is one the guests' quotas,
     * which add up to the whole machine, do not get: a pool's daemons run for days.
     */
    private static void awaitDaemonsSettled(BenchCluster c, double percent, int maxSeconds) throws InterruptedException {
        if (percent <= 0) return;
        long start = System.nanoTime();
        int cores = Runtime.getRuntime().availableProcessors();
        while (true) {
            long cpu0 = c.daemonCpu().toNanos();
            long t0 = System.nanoTime();
            Thread.sleep(10_000);   // a measuring window, not a wait for a condition
            double share = 100.0 * (c.daemonCpu().toNanos() - cpu0) / ((System.nanoTime() - t0) * (double) cores);
            double waited = (System.nanoTime() - start) / 1e9;
            if (share < percent || waited >= maxSeconds) {
                System.out.printf(Locale.ROOT, "daemons settled: %.1f %% of %d cores over 10 s, after %.0f s (limit %.1f %%, %d s)%n",
                        share, cores, waited, percent, maxSeconds);
                return;
            }
        }
    }

    private static double timeCommand(Path stdin, List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT);
        if (stdin != null) pb.redirectInput(stdin.toFile());
        long t0 = System.nanoTime();
        Process p = pb.start();
        int code = p.waitFor();
        double s = (System.nanoTime() - t0) / 1e9;
        if (code != 0) throw new IllegalStateException(String.join(" ", cmd) + " exited " + code);
        return s;
    }

    /** CPU seconds (user + system) the shell spends on {@code script}, from its own {@code times}. */
    private static double cpuSeconds(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", script + "; times").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IllegalStateException("sh -c '" + script + "' failed");
        double sum = 0;
        for (String t : out.lines().findFirst().orElseThrow().trim().split("\\s+")) {   // "0m1.44s 0m0.00s"
            int m = t.indexOf('m');
            sum += Double.parseDouble(t.substring(0, m)) * 60 + Double.parseDouble(t.substring(m + 1, t.length() - 1));
        }
        return sum;
    }

    private static Path writeItems(Path dir, int n) throws IOException {
        Path f = dir.resolve("items-" + n);
        Files.write(f, IntStream.rangeClosed(1, n).mapToObj(Integer::toString).toList());
        return f;
    }

    private static boolean onPath(String prog) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, prog))) return true;
        }
        return false;
    }

    /** Nearest-rank percentile (100 = max). */
    static double pct(double[] v, double p) {
        double[] s = v.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }

    static double median(List<Double> v) {
        double[] s = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static String machine() {
        String kernel = System.getProperty("os.version");
        long memKb = 0;
        try {
            for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (l.startsWith("MemTotal:")) memKb = Long.parseLong(l.replaceAll("\\D", ""));
            }
        } catch (IOException ignored) {
            // reported as 0
        }
        String cg = Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? "cgroup v2" : "cgroup v1";
        return String.format(Locale.ROOT, "%d vCPU, %.1f GiB, Linux %s, %s, Java %s", Runtime.getRuntime().availableProcessors(),
                memKb / 1048576.0, kernel, cg, System.getProperty("java.version"));
    }

    /**
     * With {@code --max-load L}: waits (at most {@code --max-wait} seconds, default 600) until the
     * 1-minute load average is below L, so a repeat does not start while other work floods the
     * machine; the load is printed with every repeat either way.
     */
    private static void awaitQuiet(String[] args) throws InterruptedException {
        double max = Double.parseDouble(stringArg(args, "--max-load", "0"));
        if (max <= 0) return;
        long deadline = System.nanoTime() + intArg(args, "--max-wait", 600) * 1_000_000_000L;
        while (Double.parseDouble(load().split(" ")[0]) >= max) {
            if (System.nanoTime() > deadline) {
                System.out.printf(Locale.ROOT, "load still %s after --max-wait: measuring anyway%n", load());
                return;
            }
            Thread.sleep(5000); // the load average moves slowly
        }
    }

    private static String load() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }
}
