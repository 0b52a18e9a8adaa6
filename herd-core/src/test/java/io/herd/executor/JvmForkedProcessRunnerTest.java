package io.herd.executor;

/** {@link ProcessRunnerTest} with every job forked by the JVM: the way where the job launcher cannot run. */
class JvmForkedProcessRunnerTest extends ProcessRunnerTest {

    @Override
    ProcessRunner newRunner(Cgroups cgroups) {
        return new ProcessRunner(cgroups, Sandbox.none("not used in this test"), false);
    }
}
