package io.herd.executor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.inCgroup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Jobs in real cgroups (v1 or v2, whichever this machine has). Needs root
 * and a writable cgroup tree; skipped otherwise. Everything lives under a
 * parent of its own, removed at the end. Run by {@link ProcessRunnerCgroupTest}
 * (on v1 the jobs are forked into their cgroup by the launcher thread) and
 * {@link ProcessRunnerCgroupChainJoinTest} (the chain joins it).
 */
abstract class CgroupJobsCases {

    /**
     * What the jobs sleep, to find them among the machine's processes: one per subclass, as the
     * suite's two forks may run both at once.
     */
    static String MARK = "1022";
    static Cgroups cgroups;
    static ProcessRunner runner;

    @TempDir
    Path dir;

    /** Sets up {@link #cgroups} and {@link #runner} under the parent {@code name}; skips the class where it cannot. */
    static void needsWritableCgroups(String name, boolean threadJoin) {
        MARK = threadJoin ? "1022" : "1023";
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to create cgroups");
        cgroups = Jobs.writableCgroups(name);
        runner = new ProcessRunner(cgroups).threadJoin(threadJoin);
    }

    @Test
    void killTreeReachesADoubleForkedGrandchildThatLeftTheGroup() throws Exception {
        Path grandchild = dir.resolve("grandchild.pid");
        LaunchSpec spec = inCgroup(dir, "sh", "-c",
                "(setsid sh -c 'echo $$ > grandchild.pid; exec sleep " + MARK + "' &); sleep " + MARK);
        RunningProcess p = runner.start(spec, OutputSink.DISCARD);
        assertThat(p.cgroup()).contains(spec.cgroupName());
        long gpid = Jobs.awaitPid(grandchild);
        ProcStat g = ProcStat.read(gpid).orElseThrow();
        assertThat(g.pgrp()).as("the grandchild left the job's process group").isNotEqualTo(p.pid());
        assertThat(cgroups.pids(spec.cgroupName())).contains(p.pid(), gpid);

        p.killTree();
        assertThat(Jobs.running(gpid)).as("grandchild " + gpid + " is dead when killTree returns").isFalse();
        assertThat(exit(p).code()).isEqualTo(137);
        assertThat(cgroups.exists(spec.cgroupName())).as("cgroup removed after exit").isFalse();
    }

    @Test
    void whatAJobLeavesBehindIsKilledWhenItExits() throws Exception {
        Path grandchild = dir.resolve("grandchild.pid");
        LaunchSpec spec = inCgroup(dir, "sh", "-c",
                "(setsid sh -c 'echo $$ > grandchild.pid; exec sleep " + MARK + "' > /dev/null 2>&1 &);"
                        + " while [ ! -s grandchild.pid ]; do sleep 0.01; done; exit 5");
        RunningProcess p = runner.start(spec, OutputSink.DISCARD);
        ExitStatus s = exit(p);
        assertThat(s.code()).isEqualTo(5);
        long gpid = Jobs.awaitPid(grandchild);
        assertThat(Jobs.running(gpid)).isFalse();
        assertThat(cgroups.exists(spec.cgroupName())).isFalse();
    }

    @Test
    void theJobIsInItsCgroupBeforeItCanFork() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        // The job's first act is to fork cat, which reports where it lives.
        LaunchSpec spec = inCgroup(dir, "sh", "-c", "cat /proc/self/cgroup; true");
        assertThat(exit(runner.start(spec, sink)).code()).isZero();
        String suffix = "/guests/" + spec.cgroupName();
        long joined = sink.outLines().stream().filter(l -> l.endsWith(suffix)).count();
        assertThat(joined).as(sink.out()).isEqualTo(cgroups.procsFiles(spec.cgroupName()).size());
    }

    @Test
    void cpuTimeComesFromTheCgroupAndCountsChildren() throws Exception {
        String loop = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done";
        ExitStatus s = exit(runner.start(inCgroup(dir, "sh", "-c", "(" + loop + ") & " + loop + "; wait"),
                OutputSink.DISCARD));
        assertThat(s.code()).isZero();
        // Two loops of a few hundred ms each; a sampled main process would miss the subshell.
        assertThat(s.cpuMillis()).isGreaterThan(100);
    }

    @Test
    void aJobThatExitsWithTheJoinScriptsCodeIsTakenAtItsWord() throws Exception {
        // 125 is also what the join script exits with; the job, quick as it is, did join.
        for (int i = 0; i < 20; i++) {
            Jobs.Collect sink = new Jobs.Collect();
            ExitStatus s = exit(runner.start(inCgroup(dir, "sh", "-c", "echo oops >&2; exit 125"), sink));
            assertThat(s.code()).isEqualTo(125);
            assertThat(s.failure()).as("run %d", i).isNull();
            assertThat(sink.err()).isEqualTo("oops\n");
        }
    }

    @Test
    void aSignalRightAfterTheStartReachesTheJobInItsGroup() throws Exception {
        // The launch is confirmed when a signal needs it: the signal waits until the job leads its
        // group and sits in its cgroup, so it reaches the job and not only a wrapper on the way.
        RunningProcess p = runner.start(inCgroup(dir, "sh", "-c", "trap 'exit 9' USR1; sleep " + MARK + " & wait"),
                OutputSink.DISCARD);
        p.signal(15);
        assertThat(exit(p).code()).isEqualTo(143);
    }

    @Test
    void aSignalSentTheMomentTheStartReturnsIsNeverLost() throws Exception {
        // The job is in its cgroup at once when the launcher thread forked it there, before setsid has
        // made its group: a group signal sent then must wait for the group, not find none and be dropped.
        for (int i = 0; i < 40; i++) {
            RunningProcess p = runner.start(inCgroup(dir, "sh", "-c", "sleep " + MARK + " & wait"), OutputSink.DISCARD);
            try {
                p.signal(15);
                assertThat(p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS).code()).as("start %d", i).isEqualTo(143);
            } finally {
                p.killTree();
            }
        }
    }

    @Test
    void exitCodesSignalsAndGroupSignalsInACgroup() throws Exception {
        assertThat(exit(runner.start(inCgroup(dir, "sh", "-c", "exit 3"), OutputSink.DISCARD)).code()).isEqualTo(3);
        RunningProcess p = runner.start(inCgroup(dir, "sh", "-c",
                "trap 'exit 7' TERM; sleep " + MARK + " & echo $! > child.pid; wait"), OutputSink.DISCARD);
        Jobs.awaitPid(dir.resolve("child.pid"));   // the trap is set
        p.signal(15);
        assertThat(exit(p).code()).isEqualTo(7);
        RunningProcess q = runner.start(inCgroup(dir, "sleep", MARK), OutputSink.DISCARD);
        q.signal(9);
        assertThat(exit(q)).extracting(ExitStatus::code, ExitStatus::signal).containsExactly(137, 9);
    }

    @Test
    void environmentIsExactlyTheJobsThroughTheJoiningShell() throws Exception {
        Map<String, String> env = new HashMap<>(Jobs.ENV);
        env.put("PWD", "/somewhere/else");   // a shell would overwrite this one
        env.put("X", "it's \"quoted\" $HOME");
        LaunchSpec spec = new LaunchSpec("env-cg", List.of("env"), dir, env, false, "env-cg-" + ProcessHandle.current().pid());
        Jobs.Collect sink = new Jobs.Collect();
        assertThat(exit(runner.start(spec, sink)).code()).isZero();
        assertThat(ProcessRunnerTest.parseEnv(sink.out())).isEqualTo(new TreeMap<>(env));

        LaunchSpec bare = new LaunchSpec("env-cg2", List.of("env"), dir, Jobs.ENV, false, "env-cg2-" + ProcessHandle.current().pid());
        Jobs.Collect sink2 = new Jobs.Collect();
        assertThat(exit(runner.start(bare, sink2)).code()).isZero();
        assertThat(ProcessRunnerTest.parseEnv(sink2.out())).isEqualTo(new TreeMap<>(Jobs.ENV));
    }

    @Test
    void stdinAndOutputThroughTheJoiningShell() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        RunningProcess p = runner.start(Jobs.withStdin(inCgroup(dir, "cat")), sink);
        p.stdin().write("through the cgroup\n".getBytes());
        p.stdin().close();
        assertThat(exit(p).code()).isZero();
        assertThat(sink.out()).isEqualTo("through the cgroup\n");
    }

    @Test
    void theOwnerChainRunBareJoinsTheCgroupAndRunsTheProgram() throws Exception {
        cgroups.create("bare-chain");
        try {
            LaunchSpec spec = Jobs.spec(dir, "sh", "-c", "cat /proc/self/cgroup; exit 7");
            // Forked into its cgroup, a job's chain has no shell to join it.
            assertThat(runner.ownerChain(spec, "bare-chain").contains(ProcessRunner.JOIN_SCRIPT)).isEqualTo(!runner.threadJoins());
            List<String> chain = new ProcessRunner(cgroups).threadJoin(false).ownerChain(spec, "bare-chain");
            Process p = new ProcessBuilder(chain).directory(dir.toFile()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isEqualTo(7);
            assertThat(out).contains("/bare-chain");
            assertThatThrownBy(() -> runner.ownerChain(Jobs.spec(dir, "true"), "no-such-cgroup"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no-such-cgroup");
            assertThatThrownBy(() -> runner.ownerChain(Jobs.spec(dir, "true").asGuest(new LaunchSpec.Guest(false, 0, 0)), null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("guest");
        } finally {
            cgroups.remove("bare-chain");
        }
    }

    @Test
    void awaitEmptyLetsProcessesEndByThemselvesAndGivesUpOnThoseThatStay() throws Exception {
        String name = "grace-" + ProcessHandle.current().pid();
        cgroups.create(name);
        try {
            assertThat(cgroups.awaitEmpty(name, Duration.ofMillis(5))).as("an empty cgroup").isTrue();
            Process stays = new ProcessBuilder("sleep", MARK).start();
            cgroups.place(name, stays.pid());
            Process goes = new ProcessBuilder("sh", "-c", "read x; exit 0").start();
            cgroups.place(name, goes.pid());
            assertThat(cgroups.awaitEmpty(name, Duration.ofMillis(5))).as("sleep stays").isFalse();
            stays.destroyForcibly().waitFor();
            goes.getOutputStream().close();   // read returns at end-of-file: it ends by itself
            assertThat(cgroups.awaitEmpty(name, Duration.ofSeconds(5))).as("the rest end by themselves").isTrue();
            assertThat(cgroups.pids(name)).isEmpty();
        } finally {
            cgroups.killAll(name);
            cgroups.remove(name);
        }
    }

    @Test
    void everyThreadOfTheDaemonIsBackInItsOwnCgroupAfterTheStarts() throws Exception {
        // Each running job holds one of the JDK's process reaper threads: twelve at once make the
        // reaper pool grow while jobs are being started, and a new thread starts in its creator's cgroup.
        List<RunningProcess> running = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < 12; i++) running.add(runner.start(inCgroup(dir, "sleep", MARK), OutputSink.DISCARD));
            try (var tasks = Files.list(Path.of("/proc/self/task"))) {
                for (Path t : tasks.toList()) {
                    String where = Files.readString(t.resolve("cgroup"));
                    assertThat(where).as("thread " + Files.readString(t.resolve("comm")).trim()).doesNotContain("/guests/");
                }
            }
        } finally {
            // Every one, even if one kill throws: none may outlive the test.
            RuntimeException failed = null;
            for (RunningProcess p : running) {
                try {
                    p.killTree();
                } catch (RuntimeException e) {
                    if (failed == null) failed = e; else failed.addSuppressed(e);
                }
            }
            if (failed != null) throw failed;
        }
        for (RunningProcess p : running) assertThat(exit(p).code()).isEqualTo(137);
    }

    @AfterAll
    static void nothingLeft() {
        if (cgroups == null || runner == null) return;
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
        assertThat(cgroups.jobs()).as("job cgroups left under the test parent").isEmpty();
        cgroups.removeParent();
        for (String c : List.of("cpu", "memory", "pids", "freezer", "cpuacct")) {
            Path p = cgroups.parentDir(c);
            if (p != null) assertThat(Files.exists(p)).as(p + " removed").isFalse();
        }
    }
}
