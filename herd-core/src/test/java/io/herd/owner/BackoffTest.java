package io.herd.owner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.owner.Backoff.Action;
import io.herd.owner.Backoff.Decision;
import io.herd.owner.Backoff.Reading;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The back-off's rules on injected readings and a virtual clock. */
class BackoffTest {

    static final long G = 1L << 30;
    /** 25 ms latency limit, 4 GiB reserve, 10% memory stall, 5 s hold, 30 s grace. */
    final Backoff b = new Backoff(new Backoff.Settings(25, 4 * G, 0.10, 5_000, 30_000, 0));
    long now = 1_000_000;

    /** A reading half a second after the last, with plenty of memory. */
    List<Decision> io(double ms) {
        now += 500;
        return b.observe(new Reading(now, ms, 0, 16 * G));
    }

    List<Decision> mem(double stall, long available) {
        now += 500;
        return b.observe(new Reading(now, Double.NaN, stall, available));
    }

    static List<String> actions(List<Decision> ds) {
        return ds.stream().map(d -> d.action() + (d.action() == Action.IO_FACTOR ? " " + d.factor() : "")).toList();
    }

    @Test
    void slowOwnerWritesCutTheBudgetStepByStepThenFreeze() {
        assertThat(io(3)).isEmpty();
        assertThat(b.state()).isEqualTo("normal");
        List<Decision> first = io(106);
        assertThat(actions(first)).containsExactly("IO_FACTOR 0.25");
        assertThat(first.get(0).reason()).isEqualTo(
                "guest I/O at 1/4 of its budget: the owner's write+fsync took 106.0 ms (over 25 ms)");
        assertThat(actions(io(80))).containsExactly("IO_FACTOR 0.0625");
        assertThat(b.state()).isEqualTo("io 1/16");
        List<Decision> freeze = io(60);
        assertThat(actions(freeze)).containsExactly("FREEZE");
        assertThat(freeze.get(0).reason()).startsWith("frozen: the owner's write+fsync took 60.0 ms");
        assertThat(b.frozen()).isTrue();
        assertThat(io(70)).as("frozen is as far as I/O goes").isEmpty();
    }

    @Test
    void calmForTheHoldStepsBackOneLevelAtATime() {
        io(100);
        io(100);
        io(100);
        assertThat(b.frozen()).isTrue();
        // Under half the limit, but not yet for 5 s: nothing.
        for (int i = 0; i < 9; i++) assertThat(io(4)).as("reading %d", i).isEmpty();
        assertThat(actions(io(4))).containsExactly("IO_FACTOR 0.0625", "THAW");
        assertThat(b.frozen()).isFalse();
        // A reading between half and the limit restarts the calm period.
        for (int i = 0; i < 9; i++) io(4);
        assertThat(io(20)).isEmpty();
        for (int i = 0; i < 9; i++) assertThat(io(4)).isEmpty();
        assertThat(actions(io(4))).containsExactly("IO_FACTOR 0.25");
        for (int i = 0; i < 9; i++) io(4);
        assertThat(actions(io(4))).containsExactly("IO_FACTOR 1.0");
        assertThat(b.state()).isEqualTo("normal");
        for (int i = 0; i < 20; i++) assertThat(io(4)).isEmpty();
    }

    @Test
    void noReadingOrOffChangesNothing() {
        assertThat(io(Double.NaN)).isEmpty();
        Backoff off = new Backoff(Backoff.Settings.of(0, 0));
        assertThat(off.observe(new Reading(1, 500, 1, 1))).isEmpty();
        assertThat(off.state()).isEqualTo("normal");
    }

    @Test
    void memoryShortWithPressureFreezesAtOnceAndThawsWhenItIsBackForTheHold() {
        assertThat(mem(0.5, 16 * G)).as("pressure with memory available: a guest inside its own limit").isEmpty();
        assertThat(mem(0.0, 3 * G)).as("under the reserve without pressure: the page cache gives way").isEmpty();
        List<Decision> d = mem(0.3, 3 * G);
        assertThat(actions(d)).containsExactly("FREEZE");
        assertThat(d.get(0).reason()).isEqualTo(
                "frozen: memory short: 3072 MiB available, the owner's reserve is 4096 MiB, 30% stalled");
        assertThat(b.state()).isEqualTo("frozen (memory)");
        assertThat(mem(0.0, 5 * G)).isEmpty();
        for (int i = 0; i < 8; i++) assertThat(mem(0, 5 * G)).isEmpty();
        List<Decision> thaw = mem(0, 5 * G);
        assertThat(actions(thaw)).containsExactly("THAW");
        assertThat(thaw.get(0).reason()).isEqualTo("thawed: memory back: 5120 MiB available");
    }

    @Test
    void memoryUnderHalfTheReserveFreezesWithoutPressureAndStayingShortEvicts() {
        assertThat(actions(mem(Double.NaN, G))).as("no PSI on this kernel").containsExactly("FREEZE");
        for (int i = 0; i < 59; i++) assertThat(mem(Double.NaN, G)).isEmpty();
        List<Decision> d = mem(Double.NaN, G);
        assertThat(actions(d)).containsExactly("EVICT");
        assertThat(d.get(0).reason()).isEqualTo(
                "evicted: memory still short after 30 s: 1024 MiB available, the owner's reserve is 4096 MiB");
        assertThat(b.frozen()).isFalse();
    }

    @Test
    void ioAndMemoryFreezeTogetherAndThawOnlyWhenBothAreFine() {
        io(100);
        io(100);
        assertThat(actions(io(100))).containsExactly("FREEZE");
        now += 500;
        assertThat(b.observe(new Reading(now, 4, 0.5, 2 * G))).as("frozen already").isEmpty();
        // I/O calm for the hold: the I/O level steps back, but memory still holds the guests.
        for (int i = 0; i < 12; i++) {
            now += 500;
            List<Decision> d = b.observe(new Reading(now, 4, 0.5, 2 * G));
            assertThat(actions(d)).doesNotContain("THAW");
        }
        assertThat(b.frozen()).isTrue();
        assertThat(b.ioFactor()).isLessThan(1);
        List<String> seen = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            now += 500;
            seen.addAll(actions(b.observe(new Reading(now, 4, 0, 8 * G))));
        }
        assertThat(seen).contains("THAW");
        assertThat(b.frozen()).isFalse();
    }

    static final long M = 1L << 20;

    /** The guests' anonymous memory and the owner's load, half a second after the last reading. */
    static List<Decision> grow(Backoff x, long[] clock, long anonBytes, double ownerLoad) {
        clock[0] += 500;
        Decision d = x.observeGrowth(clock[0], anonBytes, ownerLoad);
        return d == null ? List.of() : List.of(d);
    }

    @Test
    void guestsTakingMemoryFastWhileTheOwnerWorksHaveTheirCpuCutInProportionThenGetItBack() {
        Backoff x = new Backoff(Backoff.Settings.of(25, 4 * G, 64 * M));
        long[] t = {0};
        assertThat(grow(x, t, G, 1.0)).as("the first reading is only a baseline").isEmpty();
        // 650 MiB in half a second: 1300 MiB/s, twenty times the limit; cut to aim at 80% of it.
        List<Decision> cut = grow(x, t, G + 650 * M, 1.0);
        assertThat(cut).hasSize(1);
        assertThat(cut.get(0).action()).isEqualTo(Action.CPU_FACTOR);
        assertThat(cut.get(0).factor()).isCloseTo(0.8 * 64 / 1300, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(cut.get(0).reason()).contains("guests took 1300 MiB/s of new memory (over 64 MiB/s) while the owner works");
        assertThat(x.state()).isEqualTo("cpu 1/25");
        // Now at 50 MiB/s: under the limit, over half of it: held.
        long anon = G + 650 * M;
        for (int i = 0; i < 10; i++) assertThat(grow(x, t, anon += 25 * M, 1.0)).isEmpty();
        assertThat(x.cpuFactor()).isCloseTo(0.8 * 64 / 1300, org.assertj.core.data.Offset.offset(1e-9));
        // It stops growing: the share doubles back every 2 s, not faster.
        List<Double> factors = new java.util.ArrayList<>();
        for (int i = 0; i < 24; i++) grow(x, t, anon, 1.0).forEach(d -> factors.add(d.factor()));
        assertThat(factors).hasSize(5);
        assertThat(factors.get(factors.size() - 1)).isEqualTo(1.0);
        assertThat(factors).isSorted();
        assertThat(x.state()).isEqualTo("normal");
    }

    @Test
    void jobsStartingTogetherAreNotAFastGuestButABurstIs() {
        Backoff x = new Backoff(Backoff.Settings.of(25, 4 * G, 64 * M));
        long t = 0;
        long anon = 0;
        assertThat(x.observeGrowth(t, anon, 1.0)).isNull();
        // 20 MiB in one 100 ms reading (200 MiB/s, under 4 × 64), then nothing: 20 MiB/s over the second.
        assertThat(x.observeGrowth(t += 100, anon += 20 * M, 1.0)).isNull();
        for (int i = 0; i < 20; i++) assertThat(x.observeGrowth(t += 100, anon, 1.0)).isNull();
        // Steady 80 MiB/s: over the limit once the second's window shows it.
        List<Decision> cuts = new java.util.ArrayList<>();
        for (int i = 0; i < 12; i++) {
            Decision d = x.observeGrowth(t += 100, anon += 8 * M, 1.0);
            if (d != null) cuts.add(d);
        }
        assertThat(cuts).hasSize(1);
        // Cut as soon as the window crosses the limit, in proportion to what it shows then (64-80 MiB/s).
        assertThat(cuts.get(0).factor()).isBetween(0.8 * 64 / 80, 0.8);
        // 300 MiB in one reading: cut at once.
        Backoff y = new Backoff(Backoff.Settings.of(25, 4 * G, 64 * M));
        assertThat(y.observeGrowth(0, 0, 1.0)).isNull();
        assertThat(y.observeGrowth(100, 300 * M, 1.0)).isNotNull();
    }

    @Test
    void anIdleOwnerOrAnUnknownRateLeavesGuestsAtFullSpeed() {
        Backoff x = new Backoff(Backoff.Settings.of(25, 4 * G, 64 * M));
        long[] t = {0};
        grow(x, t, G, 0.01);
        assertThat(grow(x, t, 3 * G, 0.01)).as("4 GiB/s, but nobody to disturb").isEmpty();
        assertThat(grow(x, t, -1, 1.0)).as("no reading of the guests' memory").isEmpty();
        assertThat(grow(x, t, 5 * G, 1.0)).as("no rate across an unknown reading").isEmpty();
        // Cut, then the owner goes idle: the share comes back even while guests keep growing.
        assertThat(grow(x, t, 7 * G, Double.NaN)).as("unknown owner load counts as busy").hasSize(1);
        assertThat(x.cpuFactor()).isEqualTo(Backoff.MIN_CPU_FACTOR);
        long anon = 7 * G;
        List<Double> factors = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) grow(x, t, anon += G, 0.0).forEach(d -> factors.add(d.factor()));
        assertThat(factors).last().isEqualTo(1.0);
        // A limit of 0 (guest-mem-rate none) never cuts.
        Backoff off = new Backoff(Backoff.Settings.of(25, 4 * G, 0));
        long[] u = {0};
        grow(off, u, 0, 1.0);
        assertThat(grow(off, u, 8 * G, 1.0)).isEmpty();
    }

    @Test
    void theDaemonsDefaultsReleaseSlowly() {
        assertThat(Backoff.Settings.of(25, G)).isEqualTo(new Backoff.Settings(25, G, 0.10, 30_000, 30_000, 0));
    }

    @Test
    void badSettingsAreRefused() {
        assertThatThrownBy(() -> new Backoff.Settings(-1, 0, 0.1, 0, 0, 0)).hasMessageContaining("must not be negative");
        assertThatThrownBy(() -> new Backoff.Settings(25, 0, 1.5, 0, 0, 0))
                .hasMessage("memory pressure threshold must be a share from 0 to 1: 1.5");
    }
}
