package io.herd.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyTest {

    @TempDir Path dir;

    @Test
    void guestCpusIsADecimalNumberOfCoresOrNone() {
        assertThat(Policy.parseGuestCpus("0.5")).isEqualTo(0.5);
        assertThat(Policy.parseGuestCpus("2")).isEqualTo(2.0);
        assertThat(Policy.parseGuestCpus(".25")).isEqualTo(0.25);
        assertThat(Policy.parseGuestCpus(" 1.5 ")).isEqualTo(1.5);
        assertThat(Policy.parseGuestCpus("0.01")).isEqualTo(0.01);
        assertThat(Policy.parseGuestCpus("4096")).isEqualTo(4096.0);
        assertThat(Policy.parseGuestCpus("none")).isZero();
        assertThat(Policy.parseGuestCpus("unlimited")).isZero();
        assertThat(Policy.parseGuestCpus("None")).isZero();
    }

    @Test
    void badGuestCpusSaysWhatIsAllowed() {
        for (String bad : new String[] {"0", "0.001", "-1", "4097", "1e3", "NaN", "Infinity", "half", "", "1,5", "0x10", "1."}) {
            assertThatThrownBy(() -> Policy.parseGuestCpus(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("guest-cpus must be a number of cores from 0.01 to 4096 (e.g. 0.5), or none/unlimited "
                            + "to lift the cap; not '" + bad + "'");
        }
    }

    @Test
    void withSetsOneKeyAndRejectsUnknownKeys() {
        Policy p = Policy.DEFAULT.with("guest-cpus", "0.5");
        assertThat(p.guestCpus()).isEqualTo(0.5);
        assertThat(p.capsGuestCpus()).isTrue();
        assertThat(p.with("guest-cpus", "none")).isEqualTo(Policy.DEFAULT);
        assertThat(Policy.DEFAULT.capsGuestCpus()).isFalse();
        assertThatThrownBy(() -> p.with("guest-cpu", "1")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown policy key 'guest-cpu'; known keys: guest-cpus, guest-network, guest-mem-default, guest-pids-max, accept-unsandboxed");
        assertThatThrownBy(() -> new Policy(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void settingsShowEveryKey() {
        assertThat(Policy.DEFAULT.settings()).isEqualTo(Map.of("guest-cpus", "unlimited", "guest-network", "yes",
                "guest-mem-default", "2G", "guest-pids-max", "512", "accept-unsandboxed", "no"));
        assertThat(new Policy(0.5).settings()).containsEntry("guest-cpus", "0.5");
        assertThat(new Policy(2).settings()).containsEntry("guest-cpus", "2");
        assertThat(Policy.formatCores(0.25)).isEqualTo("0.25");
        assertThat(Policy.formatCores(1.1)).isEqualTo("1.1");
        assertThat(List.copyOf(new Policy(1).settings().keySet())).isEqualTo(Policy.KEYS);
    }

    @Test
    void savedPolicyLoadsBackAndAMissingFileIsTheDefault() throws IOException {
        Path f = dir.resolve(Policy.FILE);
        assertThat(Policy.load(f)).isEqualTo(Policy.DEFAULT);
        new Policy(0.5).save(f);
        assertThat(Policy.load(f)).isEqualTo(new Policy(0.5));
        assertThat(Files.readString(f)).contains("guest-cpus=0.5");
        Policy.DEFAULT.save(f);
        assertThat(Policy.load(f)).isEqualTo(Policy.DEFAULT);
        // The write is atomic: no temp file stays behind.
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(f);
        }
    }

    @Test
    void aBadFileIsAnErrorNamingIt() throws IOException {
        Path f = dir.resolve(Policy.FILE);
        Files.writeString(f, "guest-cpus=lots\n");
        assertThatThrownBy(() -> Policy.load(f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(f + ": guest-cpus must be");
        Files.writeString(f, "# comment\nwhen-idle=10m\n");
        assertThatThrownBy(() -> Policy.load(f)).hasMessage(f + ": unknown policy key 'when-idle'; known keys: guest-cpus, guest-network, guest-mem-default, guest-pids-max, accept-unsandboxed");
        Files.writeString(f, "# only a comment\n");
        assertThat(Policy.load(f)).isEqualTo(Policy.DEFAULT);
    }

    @Test
    void guestSandboxKeys() throws Exception {
        Policy p = Policy.DEFAULT.with("guest-network", "no").with("guest-mem-default", "512M")
                .with("guest-pids-max", "100").with("accept-unsandboxed", "yes");
        assertThat(p).isEqualTo(new Policy(0, false, 512L << 20, 100, true));
        assertThat(p.settings()).containsEntry("guest-mem-default", "512M").containsEntry("guest-network", "no");
        assertThat(Policy.DEFAULT.with("guest-mem-default", "none").guestMemDefault()).isZero();
        assertThat(Policy.DEFAULT.with("guest-mem-default", "1.5G").settings()).containsEntry("guest-mem-default", "1536M");
        assertThat(Policy.DEFAULT.with("guest-pids-max", "none").settings()).containsEntry("guest-pids-max", "none");
        assertThatThrownBy(() -> Policy.DEFAULT.with("guest-network", "maybe")).hasMessageContaining("yes or no");
        assertThatThrownBy(() -> Policy.DEFAULT.with("guest-mem-default", "12")).hasMessageContaining("at least 1M");
        assertThatThrownBy(() -> Policy.DEFAULT.with("guest-pids-max", "2")).hasMessageContaining("from 8");

        Path f = dir.resolve("policy.properties");
        p.save(f);
        assertThat(Policy.load(f)).isEqualTo(p);
    }
}
