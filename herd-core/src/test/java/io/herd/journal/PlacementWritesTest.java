package io.herd.journal;

import io.herd.journal.JobState.Cancelled;
import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The home's dispatch writes: a round placed in one write, a refused start, an attempt's end with its CPU. */
class PlacementWritesTest {

    @TempDir
    Path dir;
    Journal j;

    static final JobSpec SPEC = JobSpec.of(List.of("true"), "/");
    static final JobSpec NO_RETRIES = JobSpec.builder(List.of("true")).cwd("/").maxRetries(0).build();

    @BeforeEach
    void open() {
        j = Journal.open(dir.resolve("j.db"), "n");
    }

    @AfterEach
    void close() {
        j.close();
    }

    @Test
    void aRoundIsPlacedInOneWriteAndJobsNoLongerQueuedAreLeftAlone() {
        String a = j.submit("ann", SPEC, 1);
        String b = j.submit("ann", SPEC, 1);
        String cancelled = j.submit("ann", SPEC, 1);
        j.transition(cancelled, new Cancelled("ann"), 2);
        long[] before = j.groupCommits();

        List<JobRecord> placed = j.placeAll(List.of(new Journal.Placement(a, "h1"), new Journal.Placement(cancelled, "h1"),
                new Journal.Placement(b, "h2")), 3);

        assertThat(j.groupCommits()[0] - before[0]).as("one write for the round").isEqualTo(1);
        assertThat(placed).extracting(JobRecord::id).containsExactly(a, b);
        assertThat(placed).extracting(JobRecord::state).containsExactly(new Placed("h1", 1), new Placed("h2", 1));
        assertThat(j.get(cancelled).orElseThrow().state()).isEqualTo(new Cancelled("ann"));
        // Placed again after a lost host: the next attempt.
        j.transition(a, new Queued("host h1 was lost"), 4);
        assertThat(j.placeAll(List.of(new Journal.Placement(a, "h2")), 5)).extracting(JobRecord::state)
                .containsExactly(new Placed("h2", 2));
        assertThat(j.placeAll(List.of(), 6)).isEmpty();
    }

    @Test
    void aRefusedStartGoesBackToTheQueueWithoutSpendingTheAttempt() {
        String id = j.submit("ann", NO_RETRIES, 1);
        for (int i = 0; i < 3; i++) {
            j.placeAll(List.of(new Journal.Placement(id, "h1")), 2 + i);
            assertThat(j.refused(id, 1, "its owner has locked it", 3 + i)).isTrue();
        }
        JobRecord r = j.get(id).orElseThrow();
        assertThat(r.state()).isEqualTo(new Queued("refused by h1: its owner has locked it"));
        assertThat(r.attempts()).isZero();
        assertThat(r.retriesExhausted()).as("refusals spend nothing: one placement is still left").isFalse();
        assertThat(r.reason()).isEqualTo("refused by h1: its owner has locked it");
        assertThat(j.events(id)).extracting(Event::kind).containsSubsequence("placed", "refused", "placed", "refused");

        // It then runs as its first attempt.
        j.placeAll(List.of(new Journal.Placement(id, "h2")), 10);
        j.transition(id, new Running("h2", 1, 11), 11);
        assertThat(j.refused(id, 1, "too late", 12)).as("a running attempt is not refused").isFalse();
        assertThat(j.get(id).orElseThrow().state()).isEqualTo(new Running("h2", 1, 11));
        assertThatThrownBy(() -> j.refused("n.404", 1, "x", 13)).hasMessageContaining("n.404");
    }

    @Test
    void anAttemptEndsWithItsCpuInOneWriteOrNotAtAll() {
        String id = j.submit("ann", SPEC, 1);
        j.placeAll(List.of(new Journal.Placement(id, "h")), 2);
        j.transition(id, new Running("h", 1, 3), 3);
        assertThatThrownBy(() -> j.transition(id, new Placed("h", 2), 4, 500)).isInstanceOf(IllegalStateException.class);
        assertThat(j.get(id).orElseThrow().cpuMs()).as("the refused move added no CPU").isZero();
        assertThatThrownBy(() -> j.transition(id, new Done(0, "h", 5), 5, -1)).isInstanceOf(IllegalArgumentException.class);
        j.transition(id, new Done(0, "h", 5), 5, 1234);
        JobRecord r = j.get(id).orElseThrow();
        assertThat(r.state()).isEqualTo(new Done(0, "h", 5));
        assertThat(r.cpuMs()).isEqualTo(1234);
    }
}
