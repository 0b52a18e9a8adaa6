package io.herd.gossip;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

class LinuxOwnerActivityTest {

    private static final long NOW = 1_763_712_000_000L;

    @TempDir
    Path dev;

    private final AtomicLong clockMillis = new AtomicLong(NOW);
    private final Clock clock = new Clock() {
        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(clockMillis.get());
        }
    };

    /** Fake loginctl: list-sessions output, and show-session output per id. */
    private String sessionList;
    private final Map<String, String> sessionProps = new HashMap<>();
    private final List<List<String>> commands = new ArrayList<>();
    private final Function<List<String>, String> loginctl = cmd -> {
        commands.add(cmd);
        if (sessionList == null) return null; // not installed / no systemd
        if (cmd.get(1).equals("list-sessions")) return sessionList;
        if (cmd.get(1).equals("show-session")) return sessionProps.get(cmd.get(2));
        return null;
    };

    @BeforeEach
    void devices() throws IOException {
        Files.createDirectories(dev.resolve("input"));
        Files.createDirectories(dev.resolve("pts"));
        for (String f : List.of("tty", "tty0", "tty1", "tty2", "ttyS0", "input/event0", "input/event1", "input/mice",
                "pts/0", "pts/3", "pts/ptmx")) {
            touch(f, NOW - 86_400_000L);
        }
    }

    private void touch(String file, long accessMillis) throws IOException {
        Path p = dev.resolve(file);
        if (!Files.exists(p)) Files.createFile(p);
        Files.setAttribute(p, "lastAccessTime", FileTime.fromMillis(accessMillis));
    }

    private LinuxOwnerActivity activity() {
        return new LinuxOwnerActivity(clock, dev, loginctl);
    }

    private static String props(String remote, String type, String cls, String active, String idle,
                                long idleSinceMicros, String seat, String tty) {
        // Property order as a real loginctl prints it, which is not the order asked for.
        return "Remote=" + remote + "\nTTY=" + tty + "\nSeat=" + seat + "\nType=" + type + "\nClass=" + cls
                + "\nActive=" + active + "\nState=active\nIdleHint=" + idle + "\nIdleSinceHint=" + idleSinceMicros
                + "\n";
    }

    @Test
    void anActiveDesktopMeansTheOwnerIsThereNow() {
        sessionList = "      2 1000 alice seat0 tty2\n";
        sessionProps.put("2", props("no", "wayland", "user", "yes", "no", (NOW - 3_600_000L) * 1000, "seat0", "tty2"));
        assertThat(activity().read()).isEqualTo(new OwnerActivity(0, true));
    }

    @Test
    void anIdleDesktopCountsFromItsIdleSinceHint() throws IOException {
        sessionList = "c1 1000 alice seat0\n";
        sessionProps.put("c1", props("no", "x11", "user", "yes", "yes", (NOW - 600_000L) * 1000, "seat0", ""));
        touch("input/event1", NOW - 900_000L); // older than the hint: the hint wins
        assertThat(activity().read()).isEqualTo(new OwnerActivity(600, true));
        touch("tty1", NOW - 42_000L); // someone typed on a console since
        assertThat(activity().read()).isEqualTo(new OwnerActivity(42, true));
    }

    @Test
    void remoteSessionsAndGreetersAreNotTheOwner() throws IOException {
        sessionList = "3 1000 bob - pts/3\n4 112 gdm seat0 tty1\n";
        sessionProps.put("3", props("yes", "tty", "user", "yes", "no", 0, "", "pts/3"));
        sessionProps.put("4", props("no", "x11", "greeter", "yes", "no", 0, "seat0", "tty1"));
        touch("pts/3", NOW - 1_000L); // bob typing over SSH
        touch("input/event0", NOW - 7_200_000L);
        assertThat(activity().read()).isEqualTo(new OwnerActivity(7_200, false));
    }

    @Test
    void aLocalTerminalSessionCountsItsPts() throws IOException {
        sessionList = "5 1000 carol - pts/0\n";
        sessionProps.put("5", props("no", "tty", "user", "yes", "no", 0, "", "pts/0"));
        touch("pts/0", NOW - 5_000L);
        touch("pts/3", NOW - 1_000L); // not a local session's: ignored
        OwnerActivity a = activity().read();
        assertThat(a.idleSeconds()).isEqualTo(5);
        assertThat(a.ownerPresent()).isFalse(); // neither at a seat nor on a console
    }

    @Test
    void aConsoleLoginIsPresentAndIdleFromItsTty() throws IOException {
        sessionList = "7 1000 dave seat0 tty1\n";
        sessionProps.put("7", props("no", "tty", "user", "yes", "no", 0, "seat0", "tty1"));
        touch("tty1", NOW - 90_000L);
        assertThat(activity().read()).isEqualTo(new OwnerActivity(90, true));
    }

    @Test
    void withoutLogindTheDevicesStillTell() throws IOException {
        sessionList = null;
        touch("tty2", NOW - 30_000L);
        touch("pts/3", NOW); // without logind no pts counts: could be anyone over SSH
        touch("ttyS0", NOW); // a serial line is not a console
        assertThat(activity().read()).isEqualTo(new OwnerActivity(30, false));
    }

    @Test
    void nothingReadableIsUnknown() throws IOException {
        sessionList = null;
        Path empty = Files.createDirectories(dev.resolve("empty"));
        var a = new LinuxOwnerActivity(clock, empty, loginctl);
        assertThat(a.read()).isEqualTo(OwnerActivity.UNKNOWN);
        assertThat(new LinuxOwnerActivity(clock, dev.resolve("missing"), c -> {
            throw new IllegalStateException("dbus down");
        }).read()).isEqualTo(OwnerActivity.UNKNOWN);
    }

    @Test
    void noSessionsIsKnownAbsence() {
        sessionList = "";
        OwnerActivity a = activity().read();
        assertThat(a.ownerPresent()).isFalse();
        assertThat(a.idleSeconds()).isEqualTo(86_400);
    }

    @Test
    void proseAndVanishedSessionsAreSkipped() {
        sessionList = "No sessions.\n9 1000 eve seat0 tty3\n";
        // show-session for 9 fails: the session ended between the two calls.
        assertThat(activity().read().ownerPresent()).isFalse();
        assertThat(commands).extracting(c -> c.get(1)).containsExactly("list-sessions", "show-session");
    }

    @Test
    void logindIsAskedAtMostEveryFewSeconds() {
        sessionList = "2 1000 alice seat0 tty2\n";
        sessionProps.put("2", props("no", "wayland", "user", "yes", "no", 0, "seat0", "tty2"));
        LinuxOwnerActivity a = activity();
        for (int i = 0; i < 5; i++) {
            a.read();
            clockMillis.addAndGet(1_000);
        }
        assertThat(commands).hasSize(2); // one list + one show, served from cache for 5 s
        a.read();
        assertThat(commands).hasSize(4);
    }

    @Test
    void aMissingLoginctlIsRetriedRarely() {
        sessionList = null;
        LinuxOwnerActivity a = activity();
        for (int i = 0; i < 59; i++) {
            a.read();
            clockMillis.addAndGet(1_000);
        }
        assertThat(commands).hasSize(1);
        clockMillis.addAndGet(1_000);
        a.read();
        assertThat(commands).hasSize(2);
    }

    @Test
    void theRealMachineCanBeRead() {
        // Whatever this machine is (container, CI, desktop), reading must not fail.
        OwnerActivity a = new LinuxOwnerActivity().read();
        assertThat(a.idleSeconds()).isGreaterThanOrEqualTo(-1);
    }
}
