package io.herd.scheduler;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class FairShareTest {

    static final long HOUR = 3_600_000L;

    @Test
    void usageHalvesEveryHalfLife() {
        FairShare fs = new FairShare();
        assertThat(fs.halfLifeMillis()).isEqualTo(HOUR);
        fs.charge("ann", 3600, 0);
        assertThat(fs.usage("ann", 0)).isCloseTo(3600, within(1e-9));
        assertThat(fs.usage("ann", HOUR)).isCloseTo(1800, within(1e-9));
        assertThat(fs.usage("ann", 2 * HOUR)).isCloseTo(900, within(1e-9));
        assertThat(fs.usage("ann", HOUR / 2)).isCloseTo(3600 / Math.sqrt(2), within(1e-9));
    }

    @Test
    void chargesAddToTheDecayedUsage() {
        FairShare fs = new FairShare(10 * 60_000L);
        fs.charge("ann", 100, 0);
        fs.charge("ann", 100, 10 * 60_000L);
        assertThat(fs.usage("ann", 10 * 60_000L)).isCloseTo(150, within(1e-9));
        assertThat(fs.usage("ann", 20 * 60_000L)).isCloseTo(75, within(1e-9));
    }

    @Test
    void lessUsageMeansHigherPriority() {
        FairShare fs = new FairShare();
        assertThat(fs.priority("nobody", 0)).isEqualTo(1.0);
        fs.charge("ann", 3600, 0);
        fs.charge("bob", 60, 0);
        assertThat(fs.priority("ann", 0)).isCloseTo(0.5, within(1e-12));
        assertThat(fs.priority("bob", 0)).isGreaterThan(fs.priority("ann", 0)).isLessThan(1.0);
        assertThat(fs.priority("ann", HOUR)).as("forgiven with time").isCloseTo(2.0 / 3, within(1e-12));
    }

    @Test
    void sharesScaleWhatAUserMayUse() {
        FairShare fs = new FairShare();
        fs.setShares("lab", 2);
        fs.charge("lab", 3600, 0);
        fs.charge("ann", 1800, 0);
        assertThat(fs.priority("lab", 0)).isCloseTo(fs.priority("ann", 0), within(1e-12));
        assertThat(fs.shares("someone")).isEqualTo(1.0);
    }

    @Test
    void timeNeverRunsBackwardsForAnAccount() {
        FairShare fs = new FairShare();
        fs.charge("ann", 100, HOUR);
        assertThat(fs.usage("ann", 0)).isEqualTo(100);
        fs.charge("ann", 100, 0); // late news: added, not decayed the other way
        assertThat(fs.usage("ann", HOUR)).isEqualTo(200);
        assertThat(fs.usage("ann", 2 * HOUR)).isCloseTo(100, within(1e-9));
    }

    @Test
    void badArguments() {
        assertThatThrownBy(() -> new FairShare(0)).isInstanceOf(IllegalArgumentException.class);
        FairShare fs = new FairShare();
        assertThatThrownBy(() -> fs.charge("a", -1, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> fs.charge("a", Double.NaN, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> fs.setShares("a", 0)).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A home charges jobs that end on its RPC threads, several at once, while its dispatcher reads
     * priorities. Unsynchronized, a charge was lost or threw ConcurrentModificationException (a
     * HashMap's computeIfAbsent sees another thread's insert), and the job's end with it.
     */
    @Test
    void chargesFromManyThreadsAtOnceAreAllCountedAndNoneFails() throws Exception {
        FairShare fs = new FairShare();
        int threads = 8;
        int each = 20_000;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads + 1);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        try {
            java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                done.add(pool.submit(() -> {
                    go.await();
                    for (int i = 0; i < each; i++) {
                        fs.charge("shared", 1, 0);
                        fs.charge("user-" + id + "-" + i, 1, 0);   // a new account: the map grows meanwhile
                    }
                    return null;
                }));
            }
            done.add(pool.submit(() -> {
                go.await();
                for (int i = 0; i < each; i++) fs.priority("shared", 0);
                return null;
            }));
            go.countDown();
            for (java.util.concurrent.Future<?> f : done) f.get(60, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertThat(fs.usage("shared", 0)).isEqualTo((double) threads * each);
        assertThat(fs.usage("user-7-19999", 0)).isEqualTo(1.0);
    }
}
