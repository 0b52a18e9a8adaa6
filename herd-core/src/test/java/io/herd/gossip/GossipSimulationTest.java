package io.herd.gossip;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The gossip engine's two promises, checked by running the real engine for
 * N nodes on a virtual clock ({@link GossipSimulator}), default config,
 * 2 % message loss, 0-20 ms delivery delay, every node re-publishing its
 * jittering vector twice a second, and a cluster-wide stream of material
 * changes ({@value #NEWS_PER_SECOND} a second, each one a probe):
 *
 * <ol>
 *   <li>every change reaches every node within 2 s, p99 and max over all
 *       probes of several seeded runs;</li>
 *   <li>bytes sent per node per second stay under the analytic bound and do
 *       not grow with N (16 vs 200 vs 1,000 nodes).</li>
 * </ol>
 *
 * Figures are printed for BENCHMARKS-style reporting; seeds are fixed, so a
 * failure replays exactly.
 */
class GossipSimulationTest {

    /**
     * Material changes per second in the whole cluster. The engine's news
     * budget with the defaults is about 10/s (see GossipEngine); the test runs
     * at a rate a 200-node cluster of desktops produces under the
     * {@link LoadChange} thresholds, with headroom.
     */
    static final double NEWS_PER_SECOND = 6;

    private static final long DEADLINE_MILLIS = 2_000;
    private static final GossipEngine.GossipConfig CONFIG = GossipEngine.GossipConfig.defaults();

    private static GossipSimulator.Settings settings(int nodes, long seed, long warmupMillis, long measureMillis) {
        return new GossipSimulator.Settings(nodes, CONFIG, seed, 0.02, 20, 500, NEWS_PER_SECOND,
                warmupMillis, measureMillis, true);
    }

    @Test
    void changesReachEveryNodeWithinTwoSecondsAndTrafficIsFlat() {
        Combined n4 = runs(4, 6, 1_000, 10_000);
        Combined n16 = runs(16, 4, 1_000, 10_000);
        Combined n200 = runs(200, 3, 1_000, 6_000);
        // A thousand full views are a million entries: one short run keeps the test fast.
        Combined n1000 = runs(1000, 1, 500, 2_000);

        for (Combined c : List.of(n4, n16, n200, n1000)) {
            System.out.println(c);
            assertThat(c.probes.length).as("probes at N=%d", c.nodes).isGreaterThanOrEqualTo(c.nodes >= 1000 ? 5 : 50);
            assertThat(c.percentile(99)).as("p99 propagation at N=%d", c.nodes).isLessThanOrEqualTo(DEADLINE_MILLIS);
            assertThat(c.max()).as("max propagation at N=%d", c.nodes).isLessThanOrEqualTo(DEADLINE_MILLIS);
            assertThat(c.maxBytesPerSecond).as("bytes/s of the busiest node at N=%d", c.nodes)
                    .isLessThanOrEqualTo(CONFIG.maxBytesPerSecond());
        }
        // Flat: from 16 nodes on the window is full, and a node's traffic no longer depends on N.
        assertThat(n200.meanBytesPerSecond / n16.meanBytesPerSecond).isBetween(0.9, 1.1);
        assertThat(n1000.meanBytesPerSecond / n200.meanBytesPerSecond).isBetween(0.9, 1.1);
        // And even: no node pays for others (peers are picked uniformly).
        assertThat(n200.maxBytesPerSecond / n200.meanBytesPerSecond).isLessThan(1.1);
    }

    @Test
    void clusterStartingAtOnceConvergesAndStillSpreadsNews() {
        // 50 daemons started within half a second of each other, knowing nobody:
        // everyone's first vector is news to everyone, far beyond the news budget,
        // and the refresh has to complete the views.
        var s = settings(50, 7, 10_000, 5_000).cold();
        GossipSimulator.Result r = GossipSimulator.run(s);
        System.out.println("cold start N=50: " + r);
        assertThat(r.convergedAtMillis()).isBetween(0L, 10_000L);
        assertThat(r.max()).isLessThanOrEqualTo(DEADLINE_MILLIS);
    }

    @Test
    void aSeedReplaysExactly() {
        var s = settings(16, 99, 1_000, 3_000);
        assertThat(GossipSimulator.run(s).propagationMillis()).isEqualTo(GossipSimulator.run(s).propagationMillis());
    }

    private static Combined runs(int nodes, int count, long warmupMillis, long measureMillis) {
        long t0 = System.nanoTime();
        List<GossipSimulator.Result> results = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            results.add(GossipSimulator.run(settings(nodes, 1000L * nodes + i, warmupMillis, measureMillis)));
        }
        return new Combined(nodes, count, results, (System.nanoTime() - t0) / 1_000_000);
    }

    /** Probes of several runs pooled; bytes per node averaged over runs. */
    private static final class Combined {
        final int nodes;
        final int runs;
        final long[] probes;
        final double meanBytesPerSecond;
        final double maxBytesPerSecond;
        final long wallMillis;

        Combined(int nodes, int runs, List<GossipSimulator.Result> results, long wallMillis) {
            this.wallMillis = wallMillis;
            this.nodes = nodes;
            this.runs = runs;
            this.probes = results.stream().flatMapToLong(r -> LongStream.of(r.propagationMillis())).sorted().toArray();
            this.meanBytesPerSecond = results.stream().mapToDouble(GossipSimulator.Result::meanBytesPerSecond)
                    .average().orElse(0);
            this.maxBytesPerSecond = results.stream().mapToDouble(GossipSimulator.Result::maxBytesPerSecond)
                    .max().orElse(0);
        }

        long percentile(double p) {
            int i = (int) Math.ceil(p / 100.0 * probes.length) - 1;
            return probes[Math.max(0, Math.min(i, probes.length - 1))];
        }

        long max() {
            return probes[probes.length - 1];
        }

        @Override
        public String toString() {
            return String.format("N=%-4d runs=%d probes=%-4d propagation p50=%dms p99=%dms max=%s  "
                            + "bytes/s/node mean=%.0f max=%.0f (bound %.0f)  [%d ms]", nodes, runs, probes.length,
                    percentile(50), percentile(99), max() == Long.MAX_VALUE ? "never" : max() + "ms",
                    meanBytesPerSecond, maxBytesPerSecond, CONFIG.maxBytesPerSecond(), wallMillis);
        }
    }
}
