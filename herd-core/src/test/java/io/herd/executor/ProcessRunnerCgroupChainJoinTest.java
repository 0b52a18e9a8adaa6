package io.herd.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link ProcessRunnerCgroupTest}'s cases with each job's chain joining its cgroup (a shell that
 * writes its pid there, then executes the rest), as on cgroup v2 and wherever the launcher thread
 * cannot enter the job's cgroup for the fork.
 */
class ProcessRunnerCgroupChainJoinTest extends ProcessRunnerCgroupTest {

    @BeforeAll
    static void needsWritableCgroups() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to create cgroups");
        cgroups = Jobs.writableCgroups("herd-test-chain-" + ProcessHandle.current().pid());
        runner = new ProcessRunner(cgroups).threadJoin(false);
        assertThat(runner.threadJoins()).isFalse();
    }
}
