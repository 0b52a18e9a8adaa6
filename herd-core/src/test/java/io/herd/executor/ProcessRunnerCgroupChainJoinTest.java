package io.herd.executor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;

/**
 * {@link CgroupJobsCases} with each job's chain joining its cgroup (a shell that writes its pid
 * there, then executes the rest), as on cgroup v2 and wherever the launcher thread cannot enter
 * the job's cgroup for the fork.
 */
class ProcessRunnerCgroupChainJoinTest extends CgroupJobsCases {

    @BeforeAll
    static void joinedByTheirChain() {
        needsWritableCgroups("herd-test-chain-" + ProcessHandle.current().pid(), false);
        assertThat(runner.threadJoins()).isFalse();
    }
}
