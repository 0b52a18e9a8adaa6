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
                .hasMessage("unknown policy key 'guest-cpu'; known keys: accept, guest-cpus, guest-mem-max, guest-network, guest-mem-default, guest-pids-max, accept-unsandboxed, allow-users, deny-users, allow-nodes, deny-nodes, guest-io, owner-io-latency, owner-mem-reserve, guest-mem-rate");
        assertThatThrownBy(() -> new Policy(-1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void settingsShowEveryKey() {
        assertThat(Policy.DEFAULT.settings()).isEqualTo(Map.ofEntries(Map.entry("accept", "always"),
                Map.entry("guest-cpus", "unlimited"), Map.entry("guest-mem-max", "none"), Map.entry("guest-network", "yes"),
                Map.entry("guest-mem-default", "2G"), Map.entry("guest-pids-max", "512"),
                Map.entry("accept-unsandboxed", "no"), Map.entry("allow-users", "none"), Map.entry("deny-users", "none"),
                Map.entry("allow-nodes", "none"), Map.entry("deny-nodes", "none"), Map.entry("guest-io", "50MB/s"),
                Map.entry("owner-io-latency", "25ms"), Map.entry("owner-mem-reserve", "25%"),
                Map.entry("guest-mem-rate", "64MB/s")));
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
        assertThatThrownBy(() -> Policy.load(f)).hasMessage(f + ": unknown policy key 'when-idle'; known keys: accept, guest-cpus, guest-mem-max, guest-network, guest-mem-default, guest-pids-max, accept-unsandboxed, allow-users, deny-users, allow-nodes, deny-nodes, guest-io, owner-io-latency, owner-mem-reserve, guest-mem-rate");
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

    @Test
    void acceptTakesFourForms() {
        assertThat(Policy.DEFAULT.accept()).isEqualTo(AcceptRule.ALWAYS);
        assertThat(Policy.DEFAULT.with("accept", "never").settings()).containsEntry("accept", "never");
        assertThat(Policy.DEFAULT.with("accept", " Always ").accept()).isEqualTo(AcceptRule.ALWAYS);
        Policy idle = Policy.DEFAULT.with("accept", "when-idle 10m");
        assertThat(idle.accept()).isEqualTo(new AcceptRule.WhenIdle(java.time.Duration.ofMinutes(10)));
        assertThat(idle.settings()).containsEntry("accept", "when-idle 10m");
        assertThat(Policy.DEFAULT.with("accept", "when-idle 90s").settings()).containsEntry("accept", "when-idle 1m30s");
        assertThat(Policy.DEFAULT.with("accept", "when-idle 1h30m").settings()).containsEntry("accept", "when-idle 1h30m");
        assertThat(Policy.DEFAULT.with("accept", "when-idle 1d").settings()).containsEntry("accept", "when-idle 1d");
        // The shell hands the CLI the words; the quotes may come along inside single quotes.
        Policy w = Policy.DEFAULT.with("accept", "windows \"mon-fri 19:00-8:00;  sat-sun\"");
        assertThat(w.settings()).containsEntry("accept", "windows Mon-Fri 19:00-08:00; Sat-Sun");
        assertThat(Policy.DEFAULT.with("accept", "windows Mon-Fri 19:00-08:00; Sat-Sun")).isEqualTo(w);
    }

    @Test
    void badAcceptValuesSayWhatIsWrongWithAnExample() {
        String usage = "accept must be always, when-idle DURATION (e.g. when-idle 10m), windows \"SPEC\" "
                + "(e.g. windows \"Mon-Fri 19:00-08:00; Sat-Sun\") or never";
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "sometimes")).hasMessage(usage + "; not 'sometimes'");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "")).hasMessage(usage + "; not ''");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "never ever"))
                .hasMessage("accept never takes nothing after it; not 'never ever'");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "when-idle"))
                .hasMessage("accept when-idle needs the idle time, e.g. accept when-idle 10m");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "when-idle ten"))
                .hasMessage("accept when-idle: 'ten' is not a duration; write a number with a unit (s, m, h, d), e.g. when-idle 10m or when-idle 1h30m");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "when-idle 10")).hasMessageContaining("'10' is not a duration");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "when-idle 0s")).hasMessageContaining("from 1s to 7d");
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "when-idle 8d")).hasMessageContaining("from 1s to 7d");
        String eg = "; e.g. accept windows \"Mon-Fri 19:00-08:00; Sat-Sun\"";
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows"))
                .hasMessage("accept windows: no window given" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon-Fru 19:00-08:00"))
                .hasMessage("accept windows: 'fru' in 'Mon-Fru' is not a day; use Mon Tue Wed Thu Fri Sat Sun (or daily)" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon 25:00-26:00"))
                .hasMessage("accept windows: '25:00' in '25:00-26:00' is not a time of day (00:00 to 23:59, or 24:00 as an end)" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon 7pm-8pm"))
                .hasMessage("accept windows: '7pm-8pm' is not a time range such as 19:00-08:00" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon 08:00-08:00"))
                .hasMessage("accept windows: '08:00-08:00' opens and closes at the same time; for whole days leave the hours out" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon;;Tue"))
                .hasMessage("accept windows: an empty window in 'Mon;;Tue' (two ';' in a row, or one at the end)" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon 08:00-09:00 10:00-11:00"))
                .hasMessage("accept windows: 'Mon 08:00-09:00 10:00-11:00' should be DAYS or DAYS HH:MM-HH:MM (separate windows with ';')" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon--Fri"))
                .hasMessage("accept windows: 'Mon--Fri' is not a day, a range of days (Mon-Fri) or a list (Mon,Wed)" + eg);
        assertThatThrownBy(() -> Policy.DEFAULT.with("accept", "windows Mon,"))
                .hasMessage("accept windows: 'Mon,' is not a day, a range of days (Mon-Fri) or a list (Mon,Wed)" + eg);
    }

    @Test
    void guestMemMaxRefusesAndCaps() {
        Policy p = Policy.DEFAULT.with("guest-mem-max", "1G");
        assertThat(p.guestMemMax()).isEqualTo(1L << 30);
        assertThat(p.settings()).containsEntry("guest-mem-max", "1G");
        assertThat(p.guestMemLimit(0)).as("the 2G default is capped").isEqualTo(1L << 30);
        assertThat(p.guestMemLimit(512L << 20)).isEqualTo(512L << 20);
        assertThat(p.with("guest-mem-default", "none").guestMemLimit(0)).isEqualTo(1L << 30);
        assertThat(Policy.DEFAULT.guestMemLimit(0)).isEqualTo(Policy.DEFAULT_GUEST_MEM);
        assertThat(Policy.DEFAULT.with("guest-mem-default", "none").guestMemLimit(0)).isZero();
        assertThat(p.with("guest-mem-max", "none")).isEqualTo(Policy.DEFAULT);
        assertThatThrownBy(() -> Policy.DEFAULT.with("guest-mem-max", "lots"))
                .hasMessage("guest-mem-max must be a size of at least 1M such as 512M or 2G, or none; not 'lots'");
    }

    @Test
    void userAndNodeListsAreCommaListsOrNone() {
        Policy p = Policy.DEFAULT.with("allow-users", "alice, bob,alice").with("deny-nodes", "lab-1 lab-2");
        assertThat(p.allowUsers()).containsExactly("alice", "bob");
        assertThat(p.denyNodes()).containsExactly("lab-1", "lab-2");
        assertThat(p.settings()).containsEntry("allow-users", "alice,bob").containsEntry("deny-nodes", "lab-1,lab-2");
        assertThat(p.with("allow-users", "none").with("deny-nodes", "").allowUsers()).isEmpty();
        assertThat(p.with("allow-users", "none").with("deny-nodes", "")).isEqualTo(Policy.DEFAULT);
        assertThatThrownBy(() -> Policy.DEFAULT.with("deny-users", "bob;rm -rf"))
                .hasMessage("deny-users: 'bob;rm' is not a name of users (letters, digits, _ . @ -, at most 64); "
                        + "give a comma list such as mallory, or none");
        assertThatThrownBy(() -> Policy.DEFAULT.with("allow-nodes", "-x"))
                .hasMessageStartingWith("allow-nodes: '-x' is not a name of nodes");
        String many = String.join(",", java.util.stream.IntStream.range(0, 65).mapToObj(i -> "u" + i).toList());
        assertThatThrownBy(() -> Policy.DEFAULT.with("allow-users", many)).hasMessage("allow-users: 65 names; at most 64");
    }

    @Test
    void everyKeySurvivesTheFile() throws IOException {
        Policy p = Policy.DEFAULT.with("accept", "windows Mon-Fri 19:00-08:00; Sat-Sun").with("guest-mem-max", "3G")
                .with("allow-users", "alice,bob").with("deny-users", "mallory").with("allow-nodes", "n1,n2")
                .with("deny-nodes", "n3").with("guest-cpus", "0.5");
        Path f = dir.resolve(Policy.FILE);
        p.save(f);
        assertThat(Policy.load(f)).isEqualTo(p);
        assertThat(Files.readString(f)).contains("accept=windows Mon-Fri 19:00-08:00; Sat-Sun\n");
        Policy q = Policy.DEFAULT.with("accept", "when-idle 15m");
        q.save(f);
        assertThat(Policy.load(f)).isEqualTo(q);
        Files.writeString(f, "accept=sometimes\n");
        assertThatThrownBy(() -> Policy.load(f)).hasMessageStartingWith(f + ": accept must be always");
    }

    @Test
    void guestMemRateIsARateOrNone() {
        assertThat(Policy.DEFAULT.guestMemRate()).isEqualTo(64L << 20);
        Policy p = Policy.DEFAULT.with("guest-mem-rate", "1G/s");
        assertThat(p.guestMemRate()).isEqualTo(1L << 30);
        assertThat(p.settings()).containsEntry("guest-mem-rate", "1GB/s");
        assertThat(p.with("guest-mem-rate", "none").settings()).containsEntry("guest-mem-rate", "none");
        assertThat(p.with("guest-mem-rate", "none").guestMemRate()).isZero();
        for (String bad : List.of("fast", "0.5M", "-3M", "64MB/h")) {
            assertThatThrownBy(() -> Policy.DEFAULT.with("guest-mem-rate", bad))
                    .hasMessage("guest-mem-rate must be a rate of at least 1MB/s such as 64MB/s or 1G/s, or none to lift the limit; not '"
                            + bad + "'");
        }
    }

    @Test
    void guestIoIsABandwidthOrNone() {
        assertThat(Policy.parseGuestIo("50MB/s")).isEqualTo(50L << 20);
        assertThat(Policy.parseGuestIo("50M")).isEqualTo(50L << 20);
        assertThat(Policy.parseGuestIo("1.5G/s")).isEqualTo(3L << 29);
        assertThat(Policy.parseGuestIo("200 MiB/s")).isEqualTo(200L << 20);
        assertThat(Policy.parseGuestIo("10mbps")).isEqualTo(10L << 20);
        assertThat(Policy.parseGuestIo("1048576")).isEqualTo(1L << 20);
        assertThat(Policy.parseGuestIo("none")).isZero();
        assertThat(Policy.DEFAULT.guestIo()).isEqualTo(50L << 20);
        Policy p = Policy.DEFAULT.with("guest-io", "20MB/s");
        assertThat(p.settings()).containsEntry("guest-io", "20MB/s");
        assertThat(p.with("guest-io", "unlimited").settings()).containsEntry("guest-io", "none");
        for (String bad : new String[] {"0", "512K", "fast", "-5M", "50MB/h", ""}) {
            assertThatThrownBy(() -> Policy.parseGuestIo(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("guest-io must be a disk bandwidth of at least 1MB/s such as 50MB/s or 200M, or none to "
                            + "lift the cap; not '" + bad + "'");
        }
    }

    @Test
    void ownerIoLatencyAndMemReserve() {
        Policy p = Policy.DEFAULT.with("owner-io-latency", "40ms").with("owner-mem-reserve", "6G");
        assertThat(p.ownerIoLatencyMillis()).isEqualTo(40);
        assertThat(p.with("owner-io-latency", "0.5s").ownerIoLatencyMillis()).isEqualTo(500);
        assertThat(p.with("owner-io-latency", "off").settings()).containsEntry("owner-io-latency", "off");
        assertThat(p.ownerMemReserve().of(16L << 30)).isEqualTo(6L << 30);
        assertThat(p.ownerMemReserve().of(4L << 30)).as("never more than the machine has").isEqualTo(4L << 30);
        assertThat(Policy.DEFAULT.ownerMemReserve().of(16L << 30)).isEqualTo(4L << 30);
        assertThat(p.with("owner-mem-reserve", "10%").settings()).containsEntry("owner-mem-reserve", "10%");
        assertThat(p.settings()).containsEntry("owner-mem-reserve", "6G").containsEntry("owner-io-latency", "40ms");
        assertThatThrownBy(() -> p.with("owner-io-latency", "fast")).hasMessage(
                "owner-io-latency must be a time from 1ms to 10s such as 25ms, or off; not 'fast'");
        assertThatThrownBy(() -> p.with("owner-io-latency", "20s")).hasMessageContaining("from 1ms to 10s");
        for (String bad : new String[] {"95%", "lots", "none", "100K"}) {
            assertThatThrownBy(() -> p.with("owner-mem-reserve", bad)).as(bad).hasMessage(
                    "owner-mem-reserve must be a size such as 4G or a share of RAM from 0% to 90% such as 25%; not '" + bad + "'");
        }
    }

    @Test
    void newKeysSurviveTheFile() throws IOException {
        Path f = dir.resolve("p.properties");
        Policy p = Policy.DEFAULT.with("guest-io", "30M").with("owner-io-latency", "15ms").with("owner-mem-reserve", "3G");
        p.save(f);
        assertThat(Policy.load(f)).isEqualTo(p);
        Files.writeString(f, "guest-io=slow\n");
        assertThatThrownBy(() -> Policy.load(f)).hasMessageStartingWith(f + ": guest-io must be a disk bandwidth");
    }
}
