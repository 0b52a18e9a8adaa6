package io.herd.executor;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Guests that try to get out, each in a real bubblewrap sandbox and a real cgroup (v1 or v2,
 * whichever this machine has), run as {@code nobody} (the test creates no account). Needs root,
 * a working bwrap and a writable cgroup tree; skipped otherwise. Leaves no process, cgroup or file.
 */
class SandboxContainmentTest {

    private static final String MARK = "1033";
    private static final long PID = ProcessHandle.current().pid();
    private static Cgroups cgroups;
    private static Sandbox sandbox;
    private static ProcessRunner runner;
    private static Path data;

    @TempDir
    static Path tmp;

    private Path work;
    private Path rootSecret;
    private Path etcVictim;

    @BeforeAll
    static void needsRootBwrapAndCgroups() throws IOException {
        assumeTrue(Sandbox.runningAsRoot(), "needs root: guests run as an unprivileged account, in cgroups");
        assumeTrue(Sandbox.program("bwrap") != null, "bwrap is not installed (apt-get install bubblewrap)");
        data = Files.createDirectories(tmp.resolve("node-data"));
        Files.writeString(data.resolve("node.key"), "the node's private key");
        sandbox = Sandbox.detect(List.of(data), "nobody");
        assumeTrue(sandbox.available(), "bwrap cannot build a sandbox here: " + sandbox.describe());
        cgroups = Jobs.writableCgroups("herd-test-sbx-" + PID);
        runner = new ProcessRunner(cgroups, sandbox);
    }

    @BeforeEach
    void sandboxDir() throws IOException {
        work = Files.createDirectories(data.resolve("sandboxes").resolve("job-" + System.nanoTime()));
        Files.writeString(work.resolve("input.txt"), "staged input");
        sandbox.handOver(work);
        rootSecret = Path.of("/root", ".ssh-test-" + PID, "id_ed25519");
        Files.createDirectories(rootSecret.getParent());
        Files.writeString(rootSecret, "PRIVATE KEY");
        etcVictim = Path.of("/etc", "herd-test-victim-" + PID);
        Files.writeString(etcVictim, "host file");
    }

    @AfterEach
    void removeHostFiles() throws IOException {
        Files.deleteIfExists(rootSecret);
        Files.deleteIfExists(rootSecret.getParent());
        Files.deleteIfExists(etcVictim);
        Files.deleteIfExists(Path.of("/etc", "herd-test-" + PID));
    }

    @AfterAll
    static void nothingLeft() {
        if (runner == null) return;
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
        assertThat(cgroups.jobs()).as("job cgroups left under the test parent").isEmpty();
        cgroups.removeParent();
    }

    private static final LaunchSpec.Guest GUEST = new LaunchSpec.Guest(false, 0, 512);

    private LaunchSpec guest(LaunchSpec.Guest g, String script) {
        String id = "sbx" + System.nanoTime() + "-" + PID;
        return new LaunchSpec(id, List.of("sh", "-c", script), work, Jobs.ENV, false, id, g);
    }

    private Jobs.Collect run(LaunchSpec.Guest g, String script) throws Exception {
        Jobs.Collect out = new Jobs.Collect();
        RunningProcess p = runner.start(guest(g, script), out);
        exit(p);
        return out;
    }

    @Test
    void writesAndDeletesOutsideTheSandboxFailAndTheHostIsUnharmed() throws Exception {
        String script = "for f in /etc/herd-test-" + PID + " " + data.resolve("stolen") + " /usr/herd-test-" + PID
                + " " + work.getParent().resolve("next-job") + "; do"
                + "  if (echo x > $f) 2>/dev/null; then echo \"wrote $f\"; else echo \"denied $f\"; fi; done;"
                + " rm -f " + etcVictim + " 2>/dev/null || echo 'cannot delete'; "
                + " rm -rf /usr/bin/true 2>/dev/null || echo 'cannot delete /usr/bin/true';"
                + " echo result > here.txt && echo 'wrote here';"
                + " echo tmp > /tmp/scratch && echo 'wrote tmp'; id -u";
        Jobs.Collect out = run(GUEST, script);

        assertThat(out.out()).doesNotContain("wrote /").contains("cannot delete", "wrote here", "wrote tmp");
        assertThat(out.outLines()).last().isEqualTo("65534");
        assertThat(Path.of("/etc", "herd-test-" + PID)).doesNotExist();
        assertThat(Path.of("/usr", "herd-test-" + PID)).doesNotExist();
        assertThat(data.resolve("stolen")).doesNotExist();
        assertThat(work.getParent().resolve("next-job")).doesNotExist();
        assertThat(etcVictim).hasContent("host file");
        assertThat(Path.of("/usr/bin/true")).exists();
        assertThat(Path.of("/tmp/scratch")).as("the guest's /tmp is its own").doesNotExist();
        assertThat(work.resolve("here.txt")).hasContent("result");
    }

    @Test
    void aGuestYieldsTheCpuThroughItsGroupAndTheLowestIoClass() throws Exception {
        // Field 19 of /proc/self/stat is the nice value; ionice prints the class.
        Jobs.Collect out = run(GUEST, "cut -d' ' -f19 /proc/self/stat; ionice -p $$");
        assertThat(cgroups.guestCpuPriority()).as(cgroups.describe()).isTrue();
        assertThat(out.outLines()).as("the group's lowest weight does what nice 19 would; the idle I/O class stays")
                .containsExactly("0", "idle");
    }

    @Test
    void homesRootAndTheNodesDataAreHidden() throws Exception {
        String script = "cat " + rootSecret + " || echo 'no key'; echo \"root: $(ls -A /root)\"; echo \"home: $(ls -A /home)\";"
                + " cat " + data.resolve("node.key") + " || echo 'no node key'; cat input.txt; echo; echo end";
        Jobs.Collect out = run(GUEST, script);

        assertThat(out.outLines()).containsExactly("no key", "root: ", "home: ", "no node key", "staged input", "end");
        assertThat(rootSecret).hasContent("PRIVATE KEY");
    }

    @Test
    void aStagedScriptRunsAsTheGuest() throws Exception {
        Path script = work.resolve("make-report.sh");
        Files.writeString(script, "#!/bin/sh\nmkdir -p out/deep\necho report > out/deep/report.txt\n");
        Files.setPosixFilePermissions(script, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        sandbox.handOver(work);
        Jobs.Collect out = new Jobs.Collect();
        String id = "sbx" + System.nanoTime() + "-" + PID;
        ExitStatus s = exit(runner.start(new LaunchSpec(id, List.of("./make-report.sh"), work, Jobs.ENV, false, id, GUEST), out));
        assertThat(s.code()).as(out.err()).isZero();
        assertThat(work.resolve("out/deep/report.txt")).hasContent("report");
    }

    @Test
    void theEnvironmentIsExactlyWhatTheJobAskedFor() throws Exception {
        Jobs.Collect out = new Jobs.Collect();
        String id = "sbx" + System.nanoTime() + "-" + PID;
        exit(runner.start(new LaunchSpec(id, List.of("env"), work, Jobs.ENV, false, id, GUEST), out));
        Map<String, String> seen = new TreeMap<>();
        for (String l : out.outLines()) if (l.contains("=")) seen.put(l.substring(0, l.indexOf('=')), l.substring(l.indexOf('=') + 1));
        assertThat(seen).isEqualTo(new TreeMap<>(Jobs.ENV));
    }

    @Test
    void theGuestsVariablesReachNothingOutsideTheSandbox() throws Exception {
        Jobs.Collect out = new Jobs.Collect();
        String id = "sbx" + System.nanoTime() + "-" + PID;
        exit(runner.start(new LaunchSpec(id, List.of("true"), work, Jobs.envWithMissingPreload(), false, id, GUEST), out));
        assertThat(Jobs.preloadComplaints(out.err())).as("processes started with the guest's LD_PRELOAD: %s", out.err()).isEqualTo(1);
    }

    @Test
    void noNetworkUnlessAskedFor() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")) || Files.isExecutable(Path.of("/usr/bin/bash")), "needs bash for /dev/tcp");
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String script = "bash -c 'exec 3<>/dev/tcp/127.0.0.1/" + server.getLocalPort() + " && echo connected' 2>&1 || echo refused";
            Jobs.Collect out = run(GUEST, script);
            assertThat(out.out()).contains("refused").doesNotContain("connected");
            server.setSoTimeout(200);
            boolean connected;
            try (Socket s = server.accept()) {
                connected = true;
            } catch (SocketTimeoutException e) {
                connected = false;
            }
            assertThat(connected).as("a connection reached the host's listening socket").isFalse();

            // The control: with --net (and a host that allows it) the same guest connects.
            Jobs.Collect allowed = run(new LaunchSpec.Guest(true, 0, 512), script);
            assertThat(allowed.out()).contains("connected");
            server.setSoTimeout(5000);
            server.accept().close();
        }
    }

    @Test
    void aForkBombStopsAtPidsMax() throws Exception {
        String script = "n=0; while [ $n -lt 2000 ]; do sleep " + MARK + " & n=$((n + 1)); done; echo forked $n";
        Jobs.Collect out = new Jobs.Collect();
        LaunchSpec spec = guest(new LaunchSpec.Guest(false, 0, 64), script);
        RunningProcess p = runner.start(spec, out);
        exit(p);
        assertThat(out.out()).doesNotContain("forked 2000");
        assertThat(out.err()).containsIgnoringCase("fork");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }

    @Test
    void unboundedAllocationEndsAsOutOfMemory() throws Exception {
        // tail keeps the last ten lines: the whole newline-free stream, in memory: far over the 64 MiB limit.
        RunningProcess p = runner.start(guest(new LaunchSpec.Guest(false, 64L << 20, 512),
                "head -c 1G /dev/zero | tail > /dev/null; echo survived $?"), new Jobs.Collect());
        ExitStatus s = exit(p);
        assertThat(s.failure()).isEqualTo("out of memory (limit 64 MiB)");
        assertThat(s.describe()).isEqualTo("out of memory (limit 64 MiB)");
    }

    @Test
    void aJobWhoseChildIsKilledForMemoryIsStoppedWholeNotLeftToFillItsLimitAgain() throws Exception {
        // The shell survives each kill of tail and would allocate again forever: only the host's
        // stop ends this job, and exit(p) fails on its timeout if it does not.
        Jobs.Collect out = new Jobs.Collect();
        RunningProcess p = runner.start(guest(new LaunchSpec.Guest(false, 64L << 20, 512),
                "while :; do head -c 1G /dev/zero | tail > /dev/null; echo round; done"), out);
        ExitStatus s = exit(p);
        assertThat(s.failure()).isEqualTo("out of memory (limit 64 MiB)");
        assertThat(s.signal()).isEqualTo(9);
    }

    @Test
    void aDoubleForkedChildDiesWithTheJob() throws Exception {
        Jobs.Collect out = run(GUEST, "(setsid sh -c 'exec sleep " + MARK + "' > /dev/null 2>&1 &); echo left");
        assertThat(out.out()).contains("left");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }

    @Test
    void signalsReachTheGuestAndKillTreeEndsTheSandbox() throws Exception {
        Jobs.Collect out = new Jobs.Collect();
        RunningProcess p = runner.start(guest(GUEST, "trap 'echo got INT; exit 7' INT; echo ready; sleep " + MARK + " & wait"), out);
        await().atMost(Duration.ofSeconds(10)).until(() -> out.out().contains("ready"));
        p.signal(2);
        ExitStatus s = exit(p);
        assertThat(out.out()).contains("got INT");
        assertThat(s.code()).isEqualTo(7);

        Jobs.Collect out2 = new Jobs.Collect();
        RunningProcess q = runner.start(guest(GUEST, "echo ready; sleep " + MARK), out2);
        await().atMost(Duration.ofSeconds(10)).until(() -> out2.out().contains("ready"));
        q.killTree();
        assertThat(exit(q).code()).isEqualTo(137);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
    }
}
