package io.herd.executor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;

/** {@link CgroupJobsCases} as herd runs them: on cgroup v1 each job is forked into its cgroup by the launcher thread. */
class ProcessRunnerCgroupTest extends CgroupJobsCases {

    @BeforeAll
    static void forkedIntoTheirCgroup() {
        needsWritableCgroups("herd-test-" + ProcessHandle.current().pid(), true);
        assertThat(runner.threadJoins()).isEqualTo(cgroups.version() == Cgroups.Version.V1);
    }
}
