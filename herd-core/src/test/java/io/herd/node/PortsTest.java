package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PortsTest {

    @Test
    void pairsAreFreeDistinctAndBelowTheEphemeralRange() {
        int top = Ports.ephemeralStart(Path.of("/proc/sys/net/ipv4/ip_local_port_range"));
        int[] p = Ports.freePairs(8);
        assertThat(p).doesNotHaveDuplicates();
        for (int port : p) {
            assertThat(port + 1).isLessThan(top);
            assertThat(Ports.free(port)).isTrue();
            assertThat(Ports.free(port + 1)).isTrue();
        }
    }

    @Test
    void readsTheKernelsRangeAndFallsBackWhenItCannot(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("range");
        Files.writeString(f, "40000\t60999\n");
        assertThat(Ports.ephemeralStart(f)).isEqualTo(40000);
        Files.writeString(f, "garbage");
        assertThat(Ports.ephemeralStart(f)).isEqualTo(32768);
        assertThat(Ports.ephemeralStart(dir.resolve("missing"))).isEqualTo(32768);
    }
}
