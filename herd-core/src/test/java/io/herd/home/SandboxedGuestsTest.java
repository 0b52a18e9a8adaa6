package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Guests through {@code herd run} on a real 2-node cluster: a job whose home is another node runs
 * on {@code host} in its sandbox, as {@code nobody}, under its limits. Needs root, bwrap and
 * writable cgroups (what the daemons need to sandbox guests); skipped otherwise.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SandboxedGuestsTest {

    private static final String MARK = "1044";
    private TestCluster cluster;
    private TestNode home;
    private TestNode host;
    private final Path victim = Path.of("/etc", "herd-cluster-test-" + ProcessHandle.current().pid());

    @BeforeAll
    void form() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root: guests run as another account, in cgroups");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/bwrap")) || Files.isExecutable(Path.of("/bin/bwrap")),
                "bwrap is not installed (apt-get install bubblewrap)");
        assumeTrue(Files.isDirectory(Path.of("/sys/fs/cgroup/memory")) || Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")),
                "no cgroup memory controller");
        cluster = TestCluster.formed("", "host");
        home = cluster.node("home");
        host = cluster.node("host");
        Cli.Result nodes = herd("nodes", "--json");
        assumeTrue(nodes.out().contains("bwrap+cgroup"), "the host cannot sandbox guests here:\n" + nodes.all());
        Files.writeString(victim, "host file\n");
    }

    @AfterAll
    void stop() throws Exception {
        Files.deleteIfExists(victim);
        if (cluster != null) cluster.close();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(ph -> ph.info().commandLine().orElse("").contains("sleep " + MARK)));
    }

    private Cli.Result herd(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = args[0];
        all[1] = "--data=" + home.data();
        System.arraycopy(args, 1, all, 2, args.length - 1);
        return Cli.run(all);
    }

    @Test
    void aGuestCannotTouchTheHostsFilesOrDataAndRunsAsNobody() throws IOException {
        Path key = host.data().resolve("herd-test-secret");
        Files.writeString(key, "SECRET");
        try {
            Cli.Result r = herd("run", "--node", "host", "--", "sh", "-c",
                    "cat " + key + " 2>/dev/null || echo 'no secret';"
                            + " echo x > /etc/herd-cluster-test-new 2>/dev/null || echo 'no write';"
                            + " rm -f " + victim + " 2>/dev/null || echo 'no delete';"
                            + " echo \"home: $(ls -A /home /root | tr -d '\\n')\"; id -u; echo out > result.txt");
            assertThat(r.exit()).as(r.all()).isZero();
            assertThat(r.out()).isEqualTo("no secret\nno write\nno delete\nhome: /home:/root:\n65534\n");
            assertThat(victim).hasContent("host file");
            assertThat(Path.of("/etc/herd-cluster-test-new")).doesNotExist();
            assertThat(Path.of("").toAbsolutePath().resolve("result.txt")).as("outputs still come home").exists();
        } finally {
            Files.deleteIfExists(key);
            Files.deleteIfExists(Path.of("").toAbsolutePath().resolve("result.txt"));
        }
    }

    @Test
    void aGuestOverItsMemoryFailsAsOutOfMemory() {
        Cli.Result r = herd("run", "--node", "host", "--mem", "64M", "--", "sh", "-c", "head -c 1G /dev/zero | tail > /dev/null");
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.err()).contains("failed: out of memory (limit 64 MiB)");
        assertThat(herd("ps", "--all").out()).contains("out of memory (limit 64 MiB)");
        // A shell that survives its killed child would fill the limit again forever: the host stops the job whole.
        Cli.Result loop = herd("run", "--node", "host", "--mem", "64M", "--", "sh", "-c",
                "while :; do head -c 1G /dev/zero | tail > /dev/null; done");
        assertThat(loop.exit()).as(loop.all()).isNotZero();
        assertThat(loop.err()).contains("failed: out of memory (limit 64 MiB)");
        // The host stays healthy: the OOM killer acted inside the guest's cgroup only, and the next guest runs.
        Cli.Result next = herd("run", "--node", "host", "--", "echo", "still here");
        assertThat(next.exit()).as(next.all()).isZero();
        assertThat(next.out()).isEqualTo("still here\n");
    }

    @Test
    void aForkBombStaysInsideAndLeavesNothing() {
        Cli.Result r = herd("run", "--node", "host", "--", "sh", "-c",
                "n=0; while [ $n -lt 2000 ]; do sleep " + MARK + " & n=$((n + 1)); done; echo forked $n");
        assertThat(r.out()).doesNotContain("forked 2000");
        assertThat(r.err()).containsIgnoringCase("fork");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(ph -> ph.info().commandLine().orElse("").contains("sleep " + MARK)));
    }

    @Test
    void noNetworkWithoutNet() throws IOException {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String connect = "exec 3<>/dev/tcp/127.0.0.1/" + server.getLocalPort() + " && echo connected || echo refused";
            Cli.Result r = herd("run", "--node", "host", "--", "bash", "-c", connect);
            assertThat(r.out()).isEqualTo("refused\n");
            server.setSoTimeout(200);
            try (Socket s = server.accept()) {
                throw new AssertionError("a guest without --net reached the host's socket");
            } catch (SocketTimeoutException expected) {
                // nothing came
            }
            Cli.Result net = herd("run", "--node", "host", "--net", "--", "bash", "-c", connect);
            assertThat(net.out()).as(net.all()).isEqualTo("connected\n");
        }
    }
}
