package io.herd.executor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static io.herd.executor.Jobs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The job launcher (a long-lived bash that forks every job), alone and as ProcessRunner uses it. */
class ShellLauncherTest {

    private static final String MARK = "1013";

    private final ProcessRunner runner = new ProcessRunner(Cgroups.none("not used in this test"),
            Sandbox.none("not used in this test"), true);

    @TempDir
    Path dir;

    @AfterEach
    void close() {
        runner.close();
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }

    @Test
    void jobsAreForkedByTheLauncherWithDefaultSignalsAndTheirOwnGroup() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        RunningProcess p = runner.start(spec(dir, "sh", "-c",
                "echo $PPID; grep -E '^Sig(Blk|Ign)' /proc/self/status; cut -d' ' -f5 /proc/self/stat"), sink);
        assertThat(exit(p).code()).isZero();
        assertThat(runner.launcherPid()).isPositive();
        List<String> lines = sink.outLines();
        assertThat(lines).hasSize(4);
        assertThat(lines.get(0)).as("parent").isEqualTo(Long.toString(runner.launcherPid()));
        assertThat(lines.get(1)).isEqualTo("SigBlk:\t0000000000000000");
        // none of the standard signals ignored (glibc keeps its own two real-time ones, 32 and 33, for itself)
        assertThat(Long.parseLong(lines.get(2).substring("SigIgn:\t".length()), 16) & 0x7fffffffL).as(lines.get(2)).isZero();
        assertThat(lines.get(3)).as("process group").isEqualTo(Long.toString(p.pid()));
    }

    @Test
    void wordsOfEveryKindArriveIntact() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        List<String> odd = List.of("it's", "a \"quoted\" word", "new\nline", "$HOME `id` $(id)", "*", "", "é ü 日本",
                "back\\slash", "--", "-e");
        List<String> argv = new ArrayList<>(List.of("printf", "[%s]\\n"));
        argv.addAll(odd);
        Map<String, String> env = new HashMap<>(Jobs.ENV);
        env.put("ODD", "x'y\"z $HOME\nnext");
        LaunchSpec spec = new LaunchSpec("odd", argv, dir, env, false, null);
        assertThat(exit(runner.start(spec, sink)).code()).isZero();
        StringBuilder expected = new StringBuilder();
        for (String w : odd) expected.append('[').append(w).append("]\n");
        assertThat(sink.out()).isEqualTo(expected.toString());

        Jobs.Collect envSink = new Jobs.Collect();
        assertThat(exit(runner.start(new LaunchSpec("env", List.of("printenv", "ODD"), dir, env, false, null), envSink))
                .code()).isZero();
        assertThat(envSink.out()).isEqualTo(env.get("ODD") + "\n");
    }

    @Test
    void aLocaleTheHostLacksDoesNotMakeTheLauncherTalkOnTheJobsStderr() throws Exception {
        Jobs.Collect sink = new Jobs.Collect();
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "LANG", "xx_YY.UTF-8", "LC_ALL", "xx_YY.UTF-8");
        assertThat(exit(runner.start(new LaunchSpec("locale", List.of("printenv", "LC_ALL"), dir, env, false, null), sink))
                .code()).isZero();
        assertThat(sink.out()).isEqualTo("xx_YY.UTF-8\n");
        assertThat(sink.err()).isEmpty();
    }

    @Test
    void namesBashCannotExportAreCarriedByTheJvmsWay() throws Exception {
        assertThat(ShellLauncher.canCarry(Map.of("PATH", "/bin", "LANG", "C", "MY_VAR1", "x"))).isTrue();
        for (String name : List.of("BASH_ENV", "SHELLOPTS", "UID", "A-B", "1X", "x y", "RANDOM")) {
            assertThat(ShellLauncher.canCarry(Map.of(name, "1"))).as(name).isFalse();
        }
        Jobs.Collect sink = new Jobs.Collect();
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "SHELLOPTS", "braceexpand", "A-B", "c");
        assertThat(exit(runner.start(new LaunchSpec("special", List.of("env"), dir, env, false, null), sink)).code()).isZero();
        assertThat(ProcessRunnerTest.parseEnv(sink.out())).isEqualTo(env);
    }

    @Test
    void manyJobsAtOnceEachGetTheirOwnStatusAndOutput() throws Exception {
        int n = 200;
        List<RunningProcess> ps = new ArrayList<>();
        List<Jobs.Collect> sinks = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Jobs.Collect sink = new Jobs.Collect();
            sinks.add(sink);
            ps.add(runner.start(spec(dir, "sh", "-c", "echo out" + i + "; echo err" + i + " >&2; exit " + (i % 7)), sink));
        }
        for (int i = 0; i < n; i++) {
            assertThat(exit(ps.get(i)).code()).as("job %d", i).isEqualTo(i % 7);
            assertThat(sinks.get(i).out()).isEqualTo("out" + i + "\n");
            assertThat(sinks.get(i).err()).isEqualTo("err" + i + "\n");
        }
    }

    @Test
    void aJobThatEndsWithoutReadingItsStdinLeavesNothingWaiting() throws Exception {
        RunningProcess p = runner.start(Jobs.withStdin(spec(dir, "true")), OutputSink.DISCARD);
        assertThat(exit(p).code()).isZero();
        RunningProcess q = runner.start(Jobs.withStdin(spec(dir, "sh", "-c", "exec 0<&-; exit 5")), OutputSink.DISCARD);
        assertThat(exit(q).code()).isEqualTo(5);
        assertThatThrownBy(() -> {
            for (int i = 0; i < 100; i++) q.stdin().write(new byte[65536]);
        }).isInstanceOf(IOException.class);
    }

    @Test
    void aLauncherThatDiesLosesTheStatusOfItsJobsAndTheNextJobStartsANewOne() throws Exception {
        RunningProcess p = runner.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        long first = runner.launcherPid();
        ProcessHandle.of(first).orElseThrow().destroyForcibly();
        await().atMost(Duration.ofSeconds(5)).until(() -> runner.launcherPid() == -1);
        assertThat(p.onExit()).isNotDone();   // the job itself runs on
        p.killTree();
        ExitStatus lost = exit(p);
        assertThat(lost.success()).isFalse();
        assertThat(lost.failure()).isEqualTo(ShellLauncher.LOST_STATUS);

        assertThat(exit(runner.start(spec(dir, "sh", "-c", "exit 9"), OutputSink.DISCARD)).code()).isEqualTo(9);
        assertThat(runner.launcherPid()).isPositive().isNotEqualTo(first);
    }

    @Test
    void aBashThatCannotRunTheLauncherIsAClearError(@TempDir Path bin) throws Exception {
        Path fake = bin.resolve("bash");
        Files.writeString(fake, "#!/bin/sh\necho 'bash 4.4 is too old for herd'\"'\"'s job launcher' >&2\nexit 2\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        try (ShellLauncher launcher = new ShellLauncher(List.of(fake.toString()), Path.of("/usr/bin/mkfifo"))) {
            assertThatThrownBy(() -> launcher.start(new ShellLauncher.Request(List.of(), false, dir, Jobs.ENV, false,
                    List.of("/bin/true")))).isInstanceOf(IOException.class).hasMessageContaining("job launcher");
        }
    }

    @Test
    void closingEndsTheLauncherButNotItsJobs() throws Exception {
        RunningProcess p = runner.start(spec(dir, "sleep", MARK), OutputSink.DISCARD);
        long launcher = runner.launcherPid();
        runner.close();
        await().atMost(Duration.ofSeconds(5)).until(() -> ProcessHandle.of(launcher).map(h -> !h.isAlive()).orElse(true));
        assertThat(Jobs.running(p.pid())).isTrue();
        p.killTree();
        assertThat(p.onExit().get(10, TimeUnit.SECONDS).failure()).isEqualTo(ShellLauncher.LOST_STATUS);
    }

    @Test
    void requestsAreQuotedForBash() {
        byte[] r = ShellLauncher.request(List.of("1", "it's", ""), StandardCharsets.UTF_8);
        assertThat(new String(r, StandardCharsets.UTF_8)).isEqualTo("'1' 'it'\\''s' ''\0");
        assertThatThrownBy(() -> ShellLauncher.request(List.of("a\0b"), StandardCharsets.UTF_8))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
