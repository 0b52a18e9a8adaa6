package io.herd.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The daemon learns who is calling from the kernel (SO_PEERCRED), not from the
 * request: the very same bytes asking for a join token are refused when sent by
 * user {@code nobody} and answered when sent by root. The frames are written by
 * a few lines of Python so the client carries no herd code at all.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PeerCredentialsTest {

    /** A length-delimited ControlRequest{token: {}} and a dump of the raw reply. */
    private static final String CLIENT = String.join("\n",
            "import socket, sys",
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
            "s.connect(sys.argv[1])",
            "s.sendall(bytes([2, 0x1a, 0]))",
            "data = b''",
            "while True:",
            "    chunk = s.recv(65536)",
            "    if not chunk: break",
            "    data += chunk",
            "sys.stdout.write(data.decode('utf-8', 'replace'))");

    private TestCluster cluster;
    private TestNode node;

    @BeforeAll
    void start() {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to switch to user nobody");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")) || Files.isExecutable(Path.of("/sbin/runuser")),
                "needs runuser");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "needs python3");
        cluster = new TestCluster();
        node = cluster.init("owner", "lab");
    }

    @AfterAll
    void stop() {
        if (cluster != null) cluster.close();
    }

    private String send(List<String> asUser) throws Exception {
        // Let other users reach the socket, as on a real machine (/var/lib/herd is 0711).
        Files.setPosixFilePermissions(cluster.root(), PosixFilePermissions.fromString("rwx--x--x"));
        List<String> cmd = new java.util.ArrayList<>(asUser);
        cmd.addAll(List.of("/usr/bin/python3", "-c", CLIENT, node.data().resolve("herd.sock").toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void nonAdminIsRefusedByKernelIdentity() throws Exception {
        String reply = send(List.of("runuser", "-u", "nobody", "--"));
        assertThat(reply).contains("herd token needs an admin").contains("you are nobody");
    }

    @Test
    void rootGetsATokenWithTheSameBytes() throws Exception {
        String reply = send(List.of());
        assertThat(reply).contains("herd join " + node.grpc() + " --token herd1.");
    }
}
