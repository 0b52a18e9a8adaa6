package io.herd.gossip;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HostProbeTest {

    @Test
    void readsThisMachineSanely() {
        HostProbe probe = new HostProbe();
        HostProbe.HostSample first = probe.sample();
        assertThat(first.cores()).isGreaterThanOrEqualTo(1);
        assertThat(first.cpuPercent()).isZero(); // no interval yet
        assertThat(first.load1()).isGreaterThanOrEqualTo(0);
        assertThat(first.memTotalBytes()).isPositive();
        assertThat(first.memFreeBytes()).isPositive().isLessThanOrEqualTo(first.memTotalBytes());
        assertThat(first.swapFreeBytes()).isBetween(0L, first.swapTotalBytes());

        HostProbe.HostSample second = probe.sample();
        assertThat(second.cpuPercent()).isBetween(0.0, 100.0);
        assertThat(second.cores()).isEqualTo(first.cores());
    }

    @Test
    void samplingIsCheap() {
        HostProbe probe = new HostProbe();
        probe.sample();
        int n = 200;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) probe.sample();
        double msEach = (System.nanoTime() - t0) / 1e6 / n;
        // A few ms at most even on a loaded CI machine; typically ~0.1 ms.
        assertThat(msEach).isLessThan(5.0);
    }
}
