package io.herd.executor;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.inCgroup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Freezing a running job: SIGSTOP of its whole tree where there is no cgroup
 * freezer, and the real cgroup freezer of this machine (v1 or v2) where it can
 * be written (root). Every job is a CPU loop with children, killed at the end.
 */
class FreezeTest {

    private static final String MARK = "1077";
    /** A CPU loop and a sleeper, both children of the job's shell. */
    private static final String TREE = "while :; do :; done & sleep " + MARK + " & wait";

    @TempDir
    Path dir;

    @Test
    void withoutACgroupEveryProcessOfTheTreeIsStoppedAndContinued() throws Exception {
        ProcessRunner runner = new ProcessRunner(Cgroups.none("test"));
        RunningProcess p = runner.start(Jobs.spec(dir, "sh", "-c", TREE), OutputSink.DISCARD);
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> tree(p).size() >= 3);
            assertThat(p.freeze()).isEqualTo("SIGSTOP");
            assertThat(p.frozen()).isTrue();
            for (long pid : tree(p)) {
                assertThat(ProcStat.read(pid).orElseThrow().state()).as("pid %d stopped", pid).isEqualTo('T');
            }
            assertThat(p.freeze()).as("idempotent").isEqualTo("SIGSTOP");
            p.thaw();
            assertThat(p.frozen()).isFalse();
            await().atMost(Duration.ofSeconds(10)).until(() -> tree(p).stream()
                    .noneMatch(pid -> ProcStat.read(pid).map(s -> s.state() == 'T').orElse(false)));
        } finally {
            p.killTree();
        }
        assertThat(exit(p).code()).isEqualTo(137);
        assertThat(p.freeze()).as("an exited job cannot be frozen").isNull();
    }

    @Test
    void aFrozenJobIsKilledAllTheSame() throws Exception {
        ProcessRunner runner = new ProcessRunner(Cgroups.none("test"));
        RunningProcess p = runner.start(Jobs.spec(dir, "sh", "-c", TREE), OutputSink.DISCARD);
        await().atMost(Duration.ofSeconds(10)).until(() -> tree(p).size() >= 3);
        List<Long> pids = tree(p);
        assertThat(p.freeze()).isEqualTo("SIGSTOP");
        p.killTree();
        assertThat(exit(p).code()).isEqualTo(137);
        await().atMost(Duration.ofSeconds(10)).until(() -> pids.stream().noneMatch(Jobs::running));
    }

    @Test
    void theCgroupFreezerOfThisMachine() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to create cgroups");
        Cgroups cgroups = Cgroups.detect("herd-test-freeze-" + ProcessHandle.current().pid());
        assumeTrue(cgroups.usable(), "cgroups are not usable here: " + cgroups.describe());
        ProcessRunner runner = new ProcessRunner(cgroups);
        try {
            LaunchSpec spec = inCgroup(dir, "sh", "-c", TREE);
            RunningProcess p = runner.start(spec, OutputSink.DISCARD);
            try {
                assumeTrue(cgroups.canFreeze(spec.cgroupName()), "no freezer in " + cgroups.describe());
                await().atMost(Duration.ofSeconds(10)).until(() -> cgroups.pids(spec.cgroupName()).size() >= 3);
                assertThat(p.freeze()).isEqualTo("cgroup freezer");
                await().atMost(Duration.ofSeconds(10)).until(() -> cgroups.isFrozen(spec.cgroupName()));
                for (long pid : cgroups.pids(spec.cgroupName())) {
                    assertThat(ProcStat.read(pid).orElseThrow().state()).as("pid %d frozen", pid).isNotEqualTo('R');
                }
                p.thaw();
                assertThat(cgroups.isFrozen(spec.cgroupName())).isFalse();
            } finally {
                p.freeze();   // killed while frozen, as an eviction does
                p.killTree();
            }
            assertThat(exit(p).code()).isEqualTo(137);
            assertThat(cgroups.exists(spec.cgroupName())).isFalse();
        } finally {
            cgroups.removeAll();
        }
    }

    @AfterAll
    static void nothingLeft() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }

    /** The job's main process and its descendants. */
    private static List<Long> tree(RunningProcess p) {
        List<Long> pids = new ArrayList<>();
        ProcessHandle.of(p.pid()).ifPresent(h -> {
            pids.add(h.pid());
            h.descendants().forEach(d -> pids.add(d.pid()));
        });
        return pids;
    }
}
