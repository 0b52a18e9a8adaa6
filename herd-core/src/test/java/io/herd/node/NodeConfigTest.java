package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeConfigTest {

    @Test
    void parsesListenForms() {
        InetSocketAddress a = NodeConfig.parseListen("127.0.0.1:9000");
        assertThat(a.getHostString()).isEqualTo("127.0.0.1");
        assertThat(a.getPort()).isEqualTo(9000);
        assertThat(NodeConfig.parseListen(":9100").getHostString()).isEqualTo("0.0.0.0");
        assertThat(NodeConfig.parseListen("9200").getPort()).isEqualTo(9200);
        assertThat(NodeConfig.parseListen("10.1.2.3").getPort()).isEqualTo(NodeConfig.DEFAULT_PORT);
        assertThat(NodeConfig.parseListen("[::1]:7000").getHostString()).isEqualTo("::1");
    }

    @Test
    void rejectsBadPortsWithAClearMessage() {
        assertThatThrownBy(() -> NodeConfig.parseListen("host:http")).hasMessageContaining("must be a number");
        assertThatThrownBy(() -> NodeConfig.parseListen("host:65535")).hasMessageContaining("port+1");
        assertThatThrownBy(() -> NodeConfig.parseListen("host:0")).hasMessageContaining("1..65534");
    }

    @Test
    void membershipIsOnPortPlusOne() {
        NodeConfig c = new NodeConfig("n", "c", "0.0.0.0", 7700, "192.0.2.1", "", "");
        assertThat(c.membershipPort()).isEqualTo(7701);
        assertThat(c.grpcAddress()).isEqualTo("192.0.2.1:7700");
    }

    @Test
    void savesAndLoads(@TempDir Path dir) throws Exception {
        NodeConfig c = new NodeConfig("alpha", "lab", "127.0.0.1", 7800, "127.0.0.1", "root", "127.0.0.1:7700");
        c.save(dir.resolve("node.properties"));
        assertThat(NodeConfig.load(dir.resolve("node.properties"))).isEqualTo(c);
    }

    @Test
    void defaultNameIsAValidNodeName() {
        assertThat(NodeConfig.defaultName()).matches("[a-z0-9][a-z0-9-]{0,62}");
    }

    @Test
    void sandboxLevelNamesWhatIsThere(@TempDir Path root) throws Exception {
        assertThat(SandboxLevel.describe(true, 2)).isEqualTo("bwrap+cgroup2");
        assertThat(SandboxLevel.describe(false, 1)).isEqualTo("cgroup1");
        assertThat(SandboxLevel.describe(false, 0)).isEqualTo("nice");
        assertThat(SandboxLevel.io("blkio.throttle", true)).isEqualTo("io:blkio.throttle+psi");
        assertThat(SandboxLevel.io("none", false)).isEqualTo("io:none");
        assertThat(SandboxLevel.cgroupVersion(root)).isZero();
        java.nio.file.Files.createFile(root.resolve("cgroup.controllers"));
        assertThat(SandboxLevel.cgroupVersion(root)).isEqualTo(2);
    }
}
