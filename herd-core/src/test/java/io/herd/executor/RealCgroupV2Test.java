package io.herd.executor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.inCgroup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The v2 code paths on a real cgroup2 mount, whatever detection would pick:
 * on a hybrid machine the unified tree at {@code /sys/fs/cgroup/unified} has
 * few or no controllers, but joining, {@code cgroup.kill}, the freezer and
 * {@code cpu.stat} work there all the same. Needs root; skipped without a
 * cgroup2 mount.
 */
class RealCgroupV2Test {

    private static final String MARK = "1044";
    private static Cgroups cgroups;
    private static ProcessRunner runner;

    @TempDir
    Path dir;

    @BeforeAll
    static void needsAWritableCgroup2Mount() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to create cgroups");
        Optional<Path> mount = Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(l -> l.split(" "))
                .filter(f -> f.length > 9 && f[f.length - 3].equals("cgroup2"))
                .map(f -> Path.of(f[4]))
                .findFirst();
        assumeTrue(mount.isPresent(), "no cgroup2 file system is mounted here");
        cgroups = new Cgroups(mount.get(), Cgroups.Version.V2, "herd-test-v2-" + ProcessHandle.current().pid());
        try {
            cgroups.create("probe");
            cgroups.remove("probe");
        } catch (UnsupportedOperationException | IllegalStateException e) {
            assumeTrue(false, "cgroup2 at " + mount.get() + " is not usable here: " + e.getMessage());
        }
        runner = new ProcessRunner(cgroups);
    }

    @Test
    void killTreeReachesADoubleForkedGrandchild() throws Exception {
        LaunchSpec spec = inCgroup(dir, "sh", "-c",
                "(setsid sh -c 'echo $$ > grandchild.pid; exec sleep " + MARK + "' &); sleep " + MARK);
        RunningProcess p = runner.start(spec, OutputSink.DISCARD);
        long gpid = Jobs.awaitPid(dir.resolve("grandchild.pid"));
        assertThat(ProcStat.read(gpid).orElseThrow().pgrp()).isNotEqualTo(p.pid());
        assertThat(cgroups.pids(spec.cgroupName())).contains(p.pid(), gpid);
        p.killTree();
        assertThat(Jobs.running(gpid)).isFalse();
        assertThat(exit(p).signal()).isEqualTo(9);
        assertThat(cgroups.exists(spec.cgroupName())).isFalse();
    }

    @Test
    void joinsBeforeForkingAndCountsCpu() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        LaunchSpec spec = inCgroup(dir, "sh", "-c",
                "cat /proc/self/cgroup; i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
        ExitStatus s = exit(runner.start(spec, sink));
        assertThat(s.code()).isZero();
        assertThat(sink.outLines()).anyMatch(l -> l.startsWith("0::") && l.endsWith("/guests/" + spec.cgroupName()));
        assertThat(s.cpuMillis()).isGreaterThan(50);   // from cpu.stat usage_usec
    }

    @Test
    void freezeAndThaw() throws Exception {
        RunningProcess p = runner.start(inCgroup(dir, "sleep", MARK), OutputSink.DISCARD);
        String name = p.cgroup().orElseThrow();
        assertThat(cgroups.freeze(name)).isTrue();
        cgroups.thaw(name);
        p.killTree();
        assertThat(exit(p).code()).isEqualTo(137);
    }

    @Test
    void aRunningJobFreezesThroughCgroupFreeze() throws Exception {
        LaunchSpec spec = inCgroup(dir, "sh", "-c", "while :; do :; done & sleep " + MARK + " & wait");
        RunningProcess p = runner.start(spec, OutputSink.DISCARD);
        try {
            assertThat(p.freeze()).isEqualTo("cgroup freezer");
            await().atMost(Duration.ofSeconds(10)).until(() -> cgroups.isFrozen(spec.cgroupName()));
            p.thaw();
            assertThat(cgroups.isFrozen(spec.cgroupName())).isFalse();
            assertThat(p.freeze()).isEqualTo("cgroup freezer");
        } finally {
            p.killTree();   // cgroup.kill works on a frozen cgroup
        }
        assertThat(exit(p).code()).isEqualTo(137);
    }

    @Test
    void guestShareNeedsTheCpuController() {
        if (cgroups.describe().contains(" cpu ") || cgroups.describe().contains(": cpu")) {
            cgroups.setGuestCpuShare(0.5);
            assertThat(cgroups.guestCpuShare()).hasValue(0.5);
            cgroups.clearGuestCpuShare();
            assertThat(cgroups.guestCpuShare()).isEmpty();
        } else {
            assertThatThrownBy(() -> cgroups.setGuestCpuShare(0.5))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("guest-cpus needs cgroup v1 or v2 with the cpu controller");
        }
    }

    @AfterAll
    static void nothingLeft() {
        if (runner == null) return;
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
        assertThat(cgroups.jobs()).isEmpty();
        cgroups.removeParent();
        assertThat(cgroups.parentDir("cpu")).doesNotExist();
    }
}
