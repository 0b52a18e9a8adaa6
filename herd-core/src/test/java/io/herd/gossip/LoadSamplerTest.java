package io.herd.gossip;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoadSamplerTest {

    private static HostProbe.HostSample host(double cpu) {
        return new HostProbe.HostSample(8, 2.5, cpu, 16L << 30, 9L << 30, 4L << 30, 3L << 30);
    }

    @Test
    void combinesFactsHostAndOwner() {
        AtomicInteger jobs = new AtomicInteger(3);
        FixedOwnerActivity owner = new FixedOwnerActivity(120, true);
        LoadSampler s = new LoadSampler("ws-1", "10.0.0.1:7443", 1_700_000_000_000L, 4.5, 6, "bwrap+cgroup2",
                "0.1.0", jobs::get, () -> host(40), owner);
        LoadVector v = s.sample();
        assertThat(v).isEqualTo(new LoadVector("ws-1", "10.0.0.1:7443", 1_700_000_000_000L, 0, 8, 4.5, 2.5, 40,
                16L << 30, 9L << 30, 4L << 30, 3L << 30, 120, true, 6, 3, "bwrap+cgroup2", "0.1.0", false));
        jobs.set(5);
        owner.set(new OwnerActivity(0, false));
        LoadVector w = s.sample();
        assertThat(w.guestJobs()).isEqualTo(5);
        assertThat(w.ownerPresent()).isFalse();
        assertThat(w.ownerIdleSeconds()).isZero();
    }

    @Test
    void jobsOfOtherHerdNodesOnTheMachineAreNotTheOwnersLoad() {
        AtomicInteger others = new AtomicInteger(2);
        LoadSampler s = new LoadSampler("n", "a:1", 1, 1, 1, "nice", "v", () -> 0, () -> host(0), new FixedOwnerActivity(-1, false));
        assertThat(s.sample().load1()).as("as measured, with no other node here").isEqualTo(2.5);
        s.setCoLocatedJobs(others::get);
        assertThat(s.sample().load1()).isEqualTo(0.5);
        others.set(4);
        assertThat(s.sample().load1()).as("never below 0").isZero();
        s.setCoLocatedJobs(() -> {
            throw new IllegalStateException("boom");
        });
        assertThat(s.sample().load1()).as("a broken count is no count").isEqualTo(2.5);
    }

    @Test
    void cpuIsSmoothedAfterTheFirstInterval() {
        double[] cpu = {0, 50, 100, 100};
        AtomicInteger i = new AtomicInteger();
        LoadSampler s = new LoadSampler("n", "a:1", 1, 1, 1, "nice", "v", () -> 0,
                () -> host(cpu[Math.min(i.getAndIncrement(), cpu.length - 1)]), new FixedOwnerActivity(-1, false));
        assertThat(s.sample().cpuPercent()).isZero();      // the probe's first reading
        assertThat(s.sample().cpuPercent()).isEqualTo(50); // seeds the average
        double third = s.sample().cpuPercent();           // a jump to 100 moves it only a little
        assertThat(third).isGreaterThanOrEqualTo(50).isLessThan(100);
    }

    @Test
    void everySampleSaysWhetherTheNodeTakesGuestsGivenTheOwnersIdleTime() {
        FixedOwnerActivity owner = new FixedOwnerActivity(30, true);
        LoadSampler s = new LoadSampler("n", "a:1", 1, 1, 1, "nice", "v", () -> 0, () -> host(0), owner);
        assertThat(s.sample().guests()).isEqualTo(GuestAccess.OPEN);
        s.setGuests(idle -> idle >= 600 ? new GuestAccess("", "", 9) : new GuestAccess("idle-wait", "after 10 min idle", 9));
        assertThat(s.sample().guests()).isEqualTo(new GuestAccess("idle-wait", "after 10 min idle", 9));
        owner.set(new OwnerActivity(600, true));
        assertThat(s.sample().guests().accepting()).isTrue();
        // A broken decision closes the node to guests rather than stop it gossiping.
        s.setGuests(idle -> {
            throw new IllegalStateException("boom");
        });
        LoadVector v = s.sample();
        assertThat(v.guests().closed()).isEqualTo("never");
        LoadVectorCodec.validate(v);
        // A reason longer than gossip carries is cut, not fatal: once the owner watch's was, and the node stopped gossiping.
        s.setGuests(idle -> new GuestAccess("idle-wait", "guests backed off, frozen (load 3.25 over 2)", 9));
        LoadVector backedOff = s.sample();
        assertThat(backedOff.guests().reason()).hasSize(GuestAccess.MAX_REASON_CHARS).startsWith("guests backed off").endsWith("...");
        LoadVectorCodec.validate(backedOff);
    }

    @Test
    void aBrokenOwnerSourceDoesNotStopSampling() {
        LoadSampler s = new LoadSampler("n", "a:1", 1, 1, 1, "nice", "v", () -> 0, () -> host(0), () -> {
            throw new IllegalStateException("boom");
        });
        assertThat(s.sample().ownerIdleSeconds()).isEqualTo(-1);
    }

    @Test
    void badFactsFailAtConstruction() {
        assertThatThrownBy(() -> new LoadSampler("x".repeat(64), "a:1", 1, 1, 1, "nice", "v", () -> 0,
                () -> host(0), new FixedOwnerActivity(OwnerActivity.UNKNOWN)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 63");
        assertThatThrownBy(() -> new LoadSampler("n", "a:1", 1, Double.NaN, 1, "nice", "v", () -> 0,
                () -> host(0), new FixedOwnerActivity(OwnerActivity.UNKNOWN)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("speed");
    }

    @Test
    void samplesTheRealMachine() {
        LoadSampler s = new LoadSampler("n", "a:1", 1, 1, 1, "nice", "v", () -> 0);
        LoadVector v = s.sample();
        LoadVectorCodec.validate(v);
        assertThat(v.cores()).isPositive();
    }
}
