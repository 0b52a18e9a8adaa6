package io.herd.executor;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.inCgroup;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link CgroupJobsCases} as herd runs them: on cgroup v1 each job is forked into its cgroup by the launcher thread. */
class ProcessRunnerCgroupTest extends CgroupJobsCases {

    @BeforeAll
    static void forkedIntoTheirCgroup() {
        needsWritableCgroups("herd-test-" + ProcessHandle.current().pid(), true);
        assertThat(runner.threadJoins()).isEqualTo(cgroups.version() == Cgroups.Version.V1);
    }

    private static final Consumer<String> REFUSED = name -> {
        throw new UncheckedIOException(new IOException("refused by the test"));
    };

    @Test
    void whereTheLauncherThreadCannotEnterTheJobsCgroupTheJobJoinsItFromItsChain() throws Exception {
        assumeTrue(cgroups.version() == Cgroups.Version.V1, "threads join cgroups on v1 only");
        ProcessRunner refused = new ProcessRunner(cgroups).threadJoin(true).threadMoves(REFUSED, cgroups::leaveWithThisThread);
        startsInItsCgroupAndLeavesNoThreadThere(refused);
        assertThat(refused.threadJoins()).as("off after the first refusal").isFalse();
        startsInItsCgroupAndLeavesNoThreadThere(refused);
    }

    @Test
    void aLauncherThreadRefusedHalfWayInLeavesTheJobsCgroupAgain() throws Exception {
        assumeTrue(cgroups.version() == Cgroups.Version.V1, "threads join cgroups on v1 only");
        ProcessRunner halfWay = new ProcessRunner(cgroups).threadJoin(true).threadMoves(name -> {
            cgroups.enterWithThisThread(name);
            REFUSED.accept(name);
        }, cgroups::leaveWithThisThread);
        startsInItsCgroupAndLeavesNoThreadThere(halfWay);
        assertThat(halfWay.threadJoins()).isFalse();
    }

    @Test
    void aLauncherThreadThatCannotSayItLeftTurnsThreadJoiningOffForLaterJobs() throws Exception {
        assumeTrue(cgroups.version() == Cgroups.Version.V1, "threads join cgroups on v1 only");
        ProcessRunner leaveFails = new ProcessRunner(cgroups).threadJoin(true).threadMoves(cgroups::enterWithThisThread, name -> {
            cgroups.leaveWithThisThread(name);
            REFUSED.accept(name);
        });
        startsInItsCgroupAndLeavesNoThreadThere(leaveFails);
        assertThat(leaveFails.threadJoins()).isFalse();
        startsInItsCgroupAndLeavesNoThreadThere(leaveFails);
    }

    /** A job that reports where it runs is in its cgroup in every hierarchy, and no thread of this JVM is in a job's cgroup. */
    private void startsInItsCgroupAndLeavesNoThreadThere(ProcessRunner r) throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        LaunchSpec spec = inCgroup(dir, "sh", "-c", "cat /proc/self/cgroup; true");
        assertThat(exit(r.start(spec, sink)).code()).as(sink.err()).isZero();
        String suffix = "/guests/" + spec.cgroupName();
        assertThat(sink.outLines().stream().filter(l -> l.endsWith(suffix)).count()).as(sink.out())
                .isEqualTo(cgroups.procsFiles(spec.cgroupName()).size());
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                assertThat(Files.readString(t.resolve("cgroup"))).as("thread " + Files.readString(t.resolve("comm")).trim())
                        .doesNotContain("/guests/");
            }
        }
    }
}
