package io.herd.gossip;

import org.junit.jupiter.api.Test;

import static io.herd.gossip.LoadVectorCodecTest.realistic;
import static org.assertj.core.api.Assertions.assertThat;

class LoadChangeTest {

    private static final LoadVector BASE = realistic("n", 1);

    private static LoadVector with(double load, double cpu, long memFree, long idle, boolean present, int jobs) {
        LoadVector b = BASE;
        return new LoadVector(b.node(), b.address(), b.incarnation(), 2, b.cores(), b.speed(), load, cpu,
                b.memTotalBytes(), memFree, b.swapTotalBytes(), b.swapFreeBytes(), idle, present, b.guestSlots(),
                jobs, b.sandbox(), b.version(), b.leaving());
    }

    @Test
    void aLabelOrGuestCpuCapChangeIsNews() {
        LoadVector b = BASE.withAdmin(java.util.List.of("fast"), 0.5);
        assertThat(LoadChange.isNews(b, b.withSeq(2))).isFalse();
        assertThat(LoadChange.isNews(b, b.withSeq(2).withAdmin(java.util.List.of("fast", "gpu"), 0.5))).isTrue();
        assertThat(LoadChange.isNews(b, b.withSeq(2).withAdmin(java.util.List.of(), 0.5))).isTrue();
        assertThat(LoadChange.isNews(b, b.withSeq(2).withAdmin(java.util.List.of("fast"), 0))).isTrue();
        assertThat(LoadChange.isNews(b, b.withSeq(2).withAdmin(java.util.List.of("fast"), 0.25))).isTrue();
    }

    @Test
    void whetherTheNodeTakesGuestsIsNews() {
        LoadVector open = BASE.withGuests(new GuestAccess("", "", 5));
        assertThat(LoadChange.isNews(open, open.withSeq(2))).isFalse();
        assertThat(LoadChange.isNews(open, open.withSeq(2).withGuests(new GuestAccess("locked", "", 5)))).isTrue();
        assertThat(LoadChange.isNews(open, open.withSeq(2).withGuests(new GuestAccess("", "", 6)))).as("new policy").isTrue();
    }

    @Test
    void jitterIsNotNews() {
        LoadVector b = BASE;
        assertThat(LoadChange.isNews(b, with(b.load1() + 0.4, b.cpuPercent() + 10, b.memFreeBytes() - (300L << 20),
                b.ownerIdleSeconds() + 30, b.ownerPresent(), b.guestJobs() + 1))).isFalse();
    }

    @Test
    void whatPlacementActsOnIsNews() {
        LoadVector b = BASE; // 16 cores, 16 slots, 3 jobs, idle 1234 s
        assertThat(LoadChange.isNews(null, b)).isTrue();
        assertThat(LoadChange.isNews(b, b.withLeaving(true))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes(), 3, true, 3))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes(), 1234, false, 3))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1() + 4, b.cpuPercent(), b.memFreeBytes(), 1234, true, 3))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent() + 30, b.memFreeBytes(), 1234, true, 3))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes() / 2, 1234, true, 3))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes(), 1234, true, 16))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes(), 1234, true, 7))).isTrue();
        assertThat(LoadChange.isNews(b, with(b.load1(), b.cpuPercent(), b.memFreeBytes(), 1234, true, 4))).isFalse();
    }

    @Test
    void driftBecomesNewsOnceFarEnoughFromWhatTheReceiverHolds() {
        LoadVector held = BASE;
        LoadVector drifted = BASE;
        int steps = 0;
        while (!LoadChange.isNews(held, drifted)) {
            drifted = with(drifted.load1() + 0.3, drifted.cpuPercent(), drifted.memFreeBytes(), 1234, true, 3);
            steps++;
        }
        assertThat(steps).isBetween(2, 20);
    }
}
