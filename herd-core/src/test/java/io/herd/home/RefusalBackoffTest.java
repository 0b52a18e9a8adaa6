package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** A job refused again and again (not for a full node or its owner's policy) waits longer each time, up to a cap. */
class RefusalBackoffTest {

    @Test
    void theWaitDoublesFrom250MillisecondsUpToTenSeconds() {
        assertThat(IntStream.rangeClosed(1, 8).mapToLong(JobManager::refusalBackoffMs).toArray())
                .containsExactly(250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000);
        // However long the run of refusals, the shift never overflows past the cap.
        assertThat(JobManager.refusalBackoffMs(Integer.MAX_VALUE)).isEqualTo(JobManager.MAX_REFUSAL_BACKOFF_MS);
    }

    @Test
    void aRunOfRefusalsStartsAtOne() {
        assertThatThrownBy(() -> JobManager.refusalBackoffMs(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("start at 1");
    }
}
