package io.herd.executor;

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Real processes, no cgroup: what every host can do, root or not. */
class ProcessRunnerTest {

    /** Distinctive sleep lengths, so leftovers can be found by command line. */
    private static final String MARK = "1011";

    private final ProcessRunner runner = new ProcessRunner(Cgroups.none("not used in this test"));

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {0, 3, 255})
    void exitCodeIsTheJobs(int code) throws Exception {
        ExitStatus status = exit(runner.start(spec(dir, "sh", "-c", "exit " + code), OutputSink.DISCARD));
        assertThat(status.code()).isEqualTo(code);
        assertThat(status.signal()).isNull();
        assertThat(status.success()).isEqualTo(code == 0);
    }

    @Test
    void deathBySigkillIs137() throws Exception {
        RunningProcess p = runner.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        p.signal(9);
        ExitStatus status = exit(p);
        assertThat(status.code()).isEqualTo(137);
        assertThat(status.signal()).isEqualTo(9);
        assertThat(status.describe()).isEqualTo("killed by SIGKILL (9)");
    }

    @Test
    void deathBySigtermIs143() throws Exception {
        RunningProcess p = runner.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        p.signal(15);
        ExitStatus status = exit(p);
        assertThat(status.code()).isEqualTo(143);
        assertThat(status.signal()).isEqualTo(15);
    }

    @Test
    void jobLeadsItsOwnSessionAndProcessGroup() throws Exception {
        RunningProcess p = runner.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        try {
            // start() returns once the chain's first program (setsid) runs, perhaps before it has called setsid().
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                ProcStat stat = ProcStat.read(p.pid()).orElseThrow();
                assertThat(stat.pgrp()).isEqualTo(p.pid());
                assertThat(stat.session()).isEqualTo(p.pid());
            });
        } finally {
            p.killTree();   // also when it failed: nothing of the test may outlive it
        }
        assertThat(exit(p).code()).isEqualTo(137);
    }

    @Test
    void jobStartsWithNoSignalBlockedOrIgnoredWithOrWithoutTheEnvStep() throws Exception {
        assumeTrue(runner.resetsSignals(), "this host's env(1) cannot reset signals (needs GNU coreutils 8.31+)");
        // The JVM blocks SIGQUIT in its threads and children inherit that: the launcher threads unblock it in
        // themselves, and where they cannot, GNU env in the chain puts it right.
        if (SignalMask.processIgnoresSignals()) {
            // This JVM was started ignoring some (under nohup, or in a script's background): env stays in the chain.
            assertThat(ProcessRunner.launchersPassCleanSignals()).as("a JVM that ignores signals passes them on").isFalse();
            assertThat(runner.ownerChain(spec(dir, "true"), null)).as("so the chain keeps its env step").anyMatch(a -> a.endsWith("/env"));
        } else {
            assertThat(ProcessRunner.launchersPassCleanSignals()).as("this JVM's launcher threads block nothing").isTrue();
            assertThat(runner.ownerChain(spec(dir, "true"), null)).as("so the chain has no env step").noneMatch(a -> a.endsWith("/env"));
        }
        ProcessRunner throughEnv = new ProcessRunner(Cgroups.none("not used in this test")).signalsThroughEnv(true);
        assertThat(throughEnv.ownerChain(spec(dir, "true"), null)).anyMatch(a -> a.endsWith("/env"));
        for (ProcessRunner r : List.of(runner, throughEnv)) {
            Jobs.Collect sink = new Jobs.Collect();
            assertThat(exit(r.start(spec(dir, "grep", "^Sig[BI]", "/proc/self/status"), sink)).code()).isZero();
            String[] lines = sink.out().trim().split("\n");
            assertThat(lines[0]).isEqualTo("SigBlk:\t0000000000000000");
            assertThat(SignalMask.ignoredMatters(Long.parseUnsignedLong(lines[1].substring("SigIgn:".length()).trim(), 16)))
                    .as(lines[1]).isFalse();
            RunningProcess p = r.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
            p.signal(3);
            assertThat(exit(p).signal()).as("SIGQUIT (Ctrl-\\) reaches the job").isEqualTo(3);
        }
    }

    @Test
    void signalsIgnoredByTheDaemonMatterExceptGlibcsOwnAndMasksAreReadFromProc() throws Exception {
        assertThat(SignalMask.ignoredMatters(0)).isFalse();
        assertThat(SignalMask.ignoredMatters(0x80000000L)).as("32, as the JVM ignores it").isFalse();
        assertThat(SignalMask.ignoredMatters(0x180000000L)).as("32 and 33: glibc's").isFalse();
        assertThat(SignalMask.ignoredMatters(1L)).as("SIGHUP, as under nohup").isTrue();
        assertThat(SignalMask.ignoredMatters(0x6L)).as("SIGINT and SIGQUIT, as in a shell's background").isTrue();
        assertThat(SignalMask.ignoredMatters(1L << 33)).as("SIGRTMIN (34)").isTrue();
        assertThat(SignalMask.ignoredMatters(-1)).as("unreadable: as if all were").isTrue();
        Path status = dir.resolve("status");
        Files.writeString(status, "Name:\tx\nSigBlk:\t0000000000000004\nSigIgn:\t0000000080000000\n");
        assertThat(SignalMask.mask(status, "SigBlk:")).isEqualTo(4);
        assertThat(SignalMask.mask(status, "SigIgn:")).isEqualTo(0x80000000L);
        assertThat(SignalMask.mask(status, "SigCgt:")).isEqualTo(-1);
        assertThat(SignalMask.mask(dir.resolve("missing"), "SigBlk:")).isEqualTo(-1);
    }

    @Test
    void stdinIsForwarded() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        RunningProcess p = runner.start(Jobs.withStdin(spec(dir, "cat")), sink);
        OutputStream in = p.stdin();
        in.write("hello\n".getBytes(StandardCharsets.UTF_8));
        await().atMost(Duration.ofSeconds(5)).until(() -> sink.out().equals("hello\n"));   // flushed, not buffered
        in.write("world\n".getBytes(StandardCharsets.UTF_8));
        in.close();
        assertThat(exit(p).code()).isZero();
        assertThat(sink.out()).isEqualTo("hello\nworld\n");
    }

    @Test
    void stdinWithoutPipeIsDevNull() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        RunningProcess p = runner.start(spec(dir, "cat"), sink);
        assertThat(exit(p).code()).isZero();
        assertThat(sink.out()).isEmpty();
        assertThatThrownBy(p::stdin).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void stdoutAndStderrAreKeptApart() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        ExitStatus s = exit(runner.start(spec(dir, "sh", "-c",
                "for i in 1 2 3; do echo out$i; echo err$i >&2; done"), sink));
        assertThat(s.code()).isZero();
        assertThat(sink.out()).isEqualTo("out1\nout2\nout3\n");
        assertThat(sink.err()).isEqualTo("err1\nerr2\nerr3\n");
    }

    @Test
    void hundredMegabytesOfStdoutWithFlatMemory() throws Exception {
        long before = usedHeapAfterGc();
        AtomicLong bytes = new AtomicLong();
        AtomicInteger largest = new AtomicInteger();
        AtomicLong peak = new AtomicLong();
        OutputSink counting = new OutputSink() {
            @Override public void stdout(byte[] buf, int off, int len) {
                bytes.addAndGet(len);
                largest.accumulateAndGet(len, Math::max);
                if ((bytes.get() & ((1 << 23) - 1)) < len) {   // about every 8 MB
                    peak.accumulateAndGet(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed(), Math::max);
                }
            }
            @Override public void stderr(byte[] buf, int off, int len) {}
        };
        ExitStatus s = exit(runner.start(spec(dir, "head", "-c", "100000000", "/dev/zero"), counting));
        assertThat(s.code()).isZero();
        assertThat(bytes.get()).isEqualTo(100_000_000L);
        assertThat(largest.get()).isLessThanOrEqualTo(ProcessRunner.CHUNK_BYTES);
        assertThat(peak.get() - before).as("heap growth while streaming").isLessThan(64L << 20);
        assertThat(usedHeapAfterGc() - before).as("heap growth after GC").isLessThan(64L << 20);
    }

    @Test
    void aBlockedSinkBlocksTheJobNotMemory() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicLong bytes = new AtomicLong();
        OutputSink blocking = new OutputSink() {
            @Override public void stdout(byte[] buf, int off, int len) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                bytes.addAndGet(len);
            }
            @Override public void stderr(byte[] buf, int off, int len) {}
        };
        // 10 MB cannot fit in a pipe (64 KiB) and one chunk: the writer must wait for the sink.
        RunningProcess p = runner.start(spec(dir, "head", "-c", "10000000", "/dev/zero"), blocking);
        // Nothing to wait for: the job must stay blocked for a while.
        org.awaitility.Awaitility.await().during(java.time.Duration.ofMillis(300)).atMost(java.time.Duration.ofSeconds(5))
                .until(() -> !p.onExit().isDone() && Jobs.running(p.pid()));
        release.countDown();
        assertThat(exit(p).code()).isZero();
        assertThat(bytes.get()).isEqualTo(10_000_000L);
    }

    @Test
    void aFailingSinkDoesNotStallTheJob() throws Exception {
        OutputSink broken = new OutputSink() {
            @Override public void stdout(byte[] buf, int off, int len) {
                throw new IllegalStateException("home node unreachable");
            }
            @Override public void stderr(byte[] buf, int off, int len) {}
        };
        assertThat(exit(runner.start(spec(dir, "head", "-c", "1000000", "/dev/zero"), broken)).code()).isZero();
    }

    @Test
    void signalReachesTheWholeProcessGroup() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        Path child = dir.resolve("child.pid");
        RunningProcess p = runner.start(spec(dir, "sh", "-c",
                "trap 'exit 7' TERM; sleep " + MARK + " & echo $! > child.pid; wait"), sink);
        long sleeper = Jobs.awaitPid(child);
        p.signal(15);
        ExitStatus s = exit(p);
        assertThat(s.code()).isEqualTo(7);
        assertThat(s.signal()).isNull();
        await().atMost(Duration.ofSeconds(5)).until(() -> !Jobs.running(sleeper));   // the child got it too
    }

    @Test
    void killTreeWithoutCgroupKillsTheProcessGroup() throws Exception {
        Path child = dir.resolve("child.pid");
        RunningProcess p = runner.start(spec(dir, "sh", "-c",
                "trap '' TERM; sleep " + MARK + " & echo $! > child.pid; wait"), OutputSink.DISCARD);
        long sleeper = Jobs.awaitPid(child);
        p.killTree();
        assertThat(exit(p).code()).isEqualTo(137);
        await().atMost(Duration.ofSeconds(5)).until(() -> !Jobs.running(sleeper));
    }

    @Test
    void unknownProgramIsAClearLaunchError() {
        assertThatThrownBy(() -> runner.start(spec(dir, "no-such-program-xyz", "arg"), OutputSink.DISCARD))
                .isInstanceOf(LaunchException.class)
                .hasMessageStartingWith("program 'no-such-program-xyz' not found on this host");
        assertThatThrownBy(() -> runner.start(spec(dir, "./missing.sh"), OutputSink.DISCARD))
                .isInstanceOf(LaunchException.class)
                .hasMessage("program './missing.sh' not found on this host");
    }

    @Test
    void notExecutableAndMissingDirectoryAreClearLaunchErrors() throws Exception {
        Files.writeString(dir.resolve("data.txt"), "not a program");
        assertThatThrownBy(() -> runner.start(spec(dir, "./data.txt"), OutputSink.DISCARD))
                .isInstanceOf(LaunchException.class)
                .hasMessage("program './data.txt' is not executable on this host");
        assertThatThrownBy(() -> runner.start(spec(dir.resolve("gone"), "true"), OutputSink.DISCARD))
                .isInstanceOf(LaunchException.class)
                .hasMessageContaining("working directory").hasMessageContaining("does not exist on this host");
    }

    @Test
    void relativeProgramRunsFromTheWorkDirectory() throws Exception {
        Path script = dir.resolve("job.sh");
        Files.writeString(script, "#!/bin/sh\necho \"ran in $(pwd)\"\n");
        script.toFile().setExecutable(true);
        Jobs.Collect sink = new Jobs.Collect();
        assertThat(exit(runner.start(spec(dir, "./job.sh"), sink)).code()).isZero();
        assertThat(sink.out()).isEqualTo("ran in " + dir.toRealPath() + "\n");
    }

    @Test
    void environmentIsExactlyTheJobs() throws Exception {
        Map<String, String> env = new HashMap<>(Jobs.ENV);
        env.put("HERD_TEST_VALUE", "a b=c");
        Jobs.Collect sink = new Jobs.Collect();
        LaunchSpec s = new LaunchSpec("env", List.of("env"), dir, env, false, null);
        assertThat(exit(runner.start(s, sink)).code()).isZero();
        assertThat(parseEnv(sink.out())).isEqualTo(new TreeMap<>(env));
    }

    @Test
    void cpuTimeIsSampledWithoutCgroup() throws Exception {
        ExitStatus s = exit(runner.start(spec(dir, "sh", "-c",
                "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"), OutputSink.DISCARD));
        assertThat(s.code()).isZero();
        assertThat(s.cpuMillis()).isPositive();
    }

    @Test
    void withoutSetsidTheJobStillRunsAndTakesSignals() throws Exception {
        ProcessRunner plain = new ProcessRunner(Cgroups.none("test"), null, Path.of("/bin/sh"),
                Path.of("/usr/bin/kill").toFile().canExecute() ? Path.of("/usr/bin/kill") : Path.of("/bin/kill"), null);
        assertThat(exit(plain.start(spec(dir, "sh", "-c", "exit 4"), OutputSink.DISCARD)).code()).isEqualTo(4);
        RunningProcess p = plain.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        assertThat(ProcStat.read(p.pid()).orElseThrow().pgrp()).isNotEqualTo(p.pid());   // the daemon's group
        p.signal(15);
        assertThat(exit(p).code()).isEqualTo(143);
    }

    @Test
    void aJobAskingForACgroupRunsWithoutOneWhereThereAreNone() throws Exception {
        LaunchSpec spec = new LaunchSpec("no-cg", List.of("sh", "-c", "exit 6"), dir, Jobs.ENV, false, "no-cg");
        RunningProcess p = runner.start(spec, OutputSink.DISCARD);
        assertThat(p.cgroup()).isEmpty();
        assertThat(exit(p).code()).isEqualTo(6);
    }

    @Test
    void aJobThatCannotJoinItsCgroupEndsSayingSo(@TempDir Path fakeRoot) throws Exception {
        Files.writeString(fakeRoot.resolve("cgroup.controllers"), "cpu memory pids");
        Cgroups fake = new Cgroups(fakeRoot, Cgroups.Version.V2, "herd");
        fake.create("blocked");
        Files.createDirectory(fakeRoot.resolve("herd/guests/blocked/cgroup.procs"));   // the shell cannot write a directory
        Jobs.Collect sink = new Jobs.Collect();
        LaunchSpec spec = new LaunchSpec("blocked", List.of("true"), dir, Jobs.ENV, false, "blocked");
        ExitStatus status = exit(new ProcessRunner(fake).start(spec, sink));
        assertThat(status.success()).isFalse();
        assertThat(status.failure()).startsWith("could not place job blocked in cgroup blocked");
        assertThat(sink.err()).contains("herd: cannot place the job in cgroup");
    }

    @AfterAll
    static void nothingLeftRunning() {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }

    static Map<String, String> parseEnv(String out) {
        Map<String, String> m = new TreeMap<>();
        for (String line : out.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) m.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return m;
    }

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            TimeUnit.MILLISECONDS.sleep(20);
        }
        Runtime rt = Runtime.getRuntime();
        return rt.totalMemory() - rt.freeMemory();
    }
}
