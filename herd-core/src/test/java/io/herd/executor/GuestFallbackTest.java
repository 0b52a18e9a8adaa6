package io.herd.executor;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A guest on a node without bwrap and cgroups: nice 19, ionice idle and rlimits. Runs anywhere. */
class GuestFallbackTest {

    @TempDir
    Path dir;

    @Test
    void withoutSandboxOrCgroupsAGuestGetsNice19IoniceIdleAndRlimits() throws Exception {
        assumeTrue(Sandbox.program("nice") != null && Sandbox.program("ionice") != null && Sandbox.program("prlimit") != null,
                "needs nice, ionice and prlimit (coreutils, util-linux)");
        ProcessRunner runner = new ProcessRunner(Cgroups.none("a test without cgroups"), Sandbox.none("a test without bwrap"));
        LaunchSpec spec = new LaunchSpec("fb1", List.of("sh", "-c",
                "cut -d' ' -f19 /proc/self/stat; ionice -p $$; grep -E 'Max (processes|address space)' /proc/self/limits"),
                dir, Jobs.ENV, false, null, new LaunchSpec.Guest(false, 256L << 20, 100));
        Jobs.Collect out = new Jobs.Collect();
        assertThat(exit(runner.start(spec, out)).code()).isZero();
        List<String> lines = out.outLines();
        assertThat(lines.get(0)).as("nice").isEqualTo("19");
        assertThat(lines.get(1)).as("I/O class").isEqualTo("idle");
        assertThat(lines.get(2)).matches("Max processes\\s+100\\s+100\\s+processes\\s*");
        assertThat(lines.get(3)).matches("Max address space\\s+268435456\\s+268435456\\s+bytes\\s*");
    }

    @Test
    void aGuestsVariablesReachItsProgramOnlyNotTheStepsBefore() throws Exception {
        ProcessRunner runner = new ProcessRunner(Cgroups.none("a test without cgroups"), Sandbox.none("a test without bwrap"));
        LaunchSpec spec = new LaunchSpec("fbenv", List.of("true"), dir, Jobs.envWithMissingPreload(), false, null,
                new LaunchSpec.Guest(false, 256L << 20, 100));
        Jobs.Collect out = new Jobs.Collect();
        assertThat(exit(runner.start(spec, out)).code()).isZero();
        assertThat(Jobs.preloadComplaints(out.err())).as("processes started with the guest's LD_PRELOAD: %s", out.err()).isEqualTo(1);
        Jobs.Collect env = new Jobs.Collect();
        exit(runner.start(new LaunchSpec("fbenv2", List.of("env"), dir, Jobs.ENV, false, null, new LaunchSpec.Guest(false, 0, 0)), env));
        assertThat(env.outLines()).containsExactlyInAnyOrderElementsOf(
                Jobs.ENV.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
    }

    @Test
    void aGuestProgramWithAnEqualsSignInItsPathIsRefusedSayingWhy() throws Exception {
        Path odd = java.nio.file.Files.createDirectories(dir.resolve("a=b"));
        Path prog = odd.resolve("prog");
        java.nio.file.Files.writeString(prog, "#!/bin/sh\necho ran\n");
        prog.toFile().setExecutable(true);
        ProcessRunner runner = new ProcessRunner(Cgroups.none("a test without cgroups"), Sandbox.none("a test without bwrap"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runner.start(new LaunchSpec("fbeq", List.of(prog.toString()),
                        dir, Jobs.ENV, false, null, new LaunchSpec.Guest(false, 0, 0)), new Jobs.Collect()))
                .isInstanceOf(LaunchException.class).hasMessageContaining("has '=' in its path").hasMessageContaining("rename");
        Jobs.Collect owner = new Jobs.Collect();
        assertThat(exit(runner.start(Jobs.spec(dir, prog.toString()), owner)).code()).as("an owner's job may").isZero();
        assertThat(owner.out()).isEqualTo("ran\n");
    }

    @Test
    void anOwnersJobRunsAsBefore() throws Exception {
        ProcessRunner runner = new ProcessRunner(Cgroups.none("a test without cgroups"), Sandbox.none("a test without bwrap"));
        Jobs.Collect out = new Jobs.Collect();
        exit(runner.start(Jobs.spec(dir, "sh", "-c", "cut -d' ' -f19 /proc/self/stat"), out));
        String stat = java.nio.file.Files.readString(Path.of("/proc/self/stat"));
        String ownNice = stat.substring(stat.lastIndexOf(')') + 2).split(" ")[16];   // field 19
        assertThat(out.out().trim()).as("the owner's job keeps the daemon's priority").isEqualTo(ownNice);
    }

    @Test
    void guestsInheritTheIdleIoClassFromTheirLauncherThreadAndOwnersDoNot() throws Exception {
        assumeTrue(Sandbox.program("ionice") != null, "needs ionice (util-linux)");
        ProcessRunner runner = new ProcessRunner(Cgroups.none("a test without cgroups"), Sandbox.none("a test without bwrap"));
        assertThat(runner.guestsStartIdle()).as("the guests' launcher thread passes the idle class on here").isTrue();
        LaunchSpec guest = new LaunchSpec("fb2", List.of("true"), dir, Jobs.ENV, false, null,
                new LaunchSpec.Guest(false, 0, 0));
        assertThat(runner.guestChain(guest)).as("the bare chain, run by others, keeps ionice").anyMatch(a -> a.endsWith("/ionice"));
        assertThat(runner.guestChainAsStarted(guest)).as("the chain start() runs has none").noneMatch(a -> a.endsWith("/ionice"));
        Jobs.Collect g = new Jobs.Collect();
        assertThat(exit(runner.start(new LaunchSpec("fb3", List.of("ionice"),
                dir, Jobs.ENV, false, null, new LaunchSpec.Guest(false, 0, 0)), g)).code()).isZero();
        assertThat(g.outLines().get(0)).as("a guest's I/O class").isEqualTo("idle");
        Jobs.Collect o = new Jobs.Collect();
        assertThat(exit(runner.start(Jobs.spec(dir, "ionice"), o)).code()).isZero();
        assertThat(o.out().trim()).as("an owner's job, forked from the other launcher thread").isNotEqualTo("idle");
    }

    @Test
    void sizesReadAsPeopleWriteThem() {
        assertThat(ExitStatus.outOfMemory(64L << 20)).isEqualTo("out of memory (limit 64 MiB)");
        assertThat(ExitStatus.outOfMemory(3L << 29)).isEqualTo("out of memory (limit 1.5 GiB)");
        assertThat(ExitStatus.outOfMemory(0)).isEqualTo("out of memory");
        assertThat(ExitStatus.bytes(1000)).isEqualTo("1000 B");
    }
}
