package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StallWatchTest {
    private static final long S = 1_000_000_000L;

    @Test
    void aThreadThatKeepsRunningIsNeverReported() {
        StallWatch w = new StallWatch(5 * S, 0);
        for (long t = 0; t < 60 * S; t += S) {
            w.beat(t);
            assertThat(w.check(t + S / 2)).isEmpty();
        }
    }

    @Test
    void aStallIsReportedOnceWithItsLengthAndAgainOnlyAfterTheThreadRanAgain() {
        StallWatch w = new StallWatch(5 * S, 0);
        w.beat(10 * S);
        assertThat(w.check(15 * S)).as("at the limit, not over it").isEmpty();
        assertThat(w.check(16 * S)).hasValue(6 * S);
        assertThat(w.check(30 * S)).as("the same stall, once").isEmpty();
        w.beat(31 * S);
        assertThat(w.check(33 * S)).isEmpty();
        assertThat(w.check(40 * S)).as("a new stall").hasValue(9 * S);
    }

    @Test
    void aThreadThatNeverRanIsReportedFromTheWatchsStart() {
        StallWatch w = new StallWatch(5 * S, 100 * S);
        assertThat(w.check(104 * S)).isEmpty();
        assertThat(w.check(107 * S)).hasValue(7 * S);
    }

    @Test
    void theReportSaysHowLongAndWhereTheThreadHangs() throws Exception {
        java.util.concurrent.CountDownLatch hang = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(1);
        Thread t = new Thread(() -> {
            parked.countDown();
            try {
                hang.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "herd-gossip");
        t.start();
        try {
            parked.await();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> t.getState() == Thread.State.WAITING);
            String r = StallWatch.report("gossip and load sampling", 3_400_000_000L, t);
            assertThat(r).startsWith("gossip and load sampling has not run for 3.4 s; herd-gossip is WAITING at:")
                    .contains("CountDownLatch.await").contains("StallWatchTest");
        } finally {
            hang.countDown();
            t.join();
        }
        assertThat(StallWatch.report("gossip", S, t)).endsWith("its thread is gone");
        assertThat(StallWatch.report("gossip", S, null)).endsWith("its thread is gone");
    }

    @Test
    void theLimitMustBePositive() {
        assertThatThrownBy(() -> new StallWatch(0, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
    }
}
