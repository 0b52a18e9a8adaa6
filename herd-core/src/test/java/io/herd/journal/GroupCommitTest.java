package io.herd.journal;

import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Running;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Writers that queue up behind a commit are committed together, and one that fails is
 * rolled back alone: the others of its group still commit and every caller gets its own answer.
 */
class GroupCommitTest {

    @TempDir
    Path dir;

    static final JobSpec SPEC = JobSpec.of(List.of("true"), "/");

    @Test
    void queuedWritersShareOneCommitAndAFailingOneIsRolledBackAlone() throws Exception {
        Path file = dir.resolve("j.db");
        ExecutorService pool = Executors.newFixedThreadPool(13);
        try (Journal j = Journal.open(file, "n")) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 10; i++) ids.add(j.submit("ann", SPEC, 1));
            CountDownLatch release = new CountDownLatch(1);
            List<Future<?>> good = new ArrayList<>();
            Future<?>[] bad = new Future<?>[2];
            long[] before = j.groupCommits();
            Future<?> holder = holdWriteLock(pool, j, release);
            for (String id : ids) good.add(pool.submit(() -> j.transition(id, new Placed("h", 1), 2)));
            // Two writes that must fail: an illegal move, and a job that does not exist.
            bad[0] = pool.submit(() -> j.transition(ids.get(0), new Done(0, "h", 3), 3));
            bad[1] = pool.submit(() -> j.addCpu("n.999", 5));
            await().atMost(java.time.Duration.ofSeconds(10)).until(() -> j.waitingWriters() == 12);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            for (Future<?> f : good) f.get(10, TimeUnit.SECONDS);
            assertThatThrownBy(() -> bad[0].get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> bad[1].get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(NoSuchElementException.class);

            long[] after = j.groupCommits();
            assertThat(after[1] - before[1]).as("writes").isEqualTo(12);
            assertThat(after[0] - before[0]).as("the 12 queued writes went in one commit").isEqualTo(1);
            for (String id : ids) {
                assertThat(j.get(id).orElseThrow().state()).isEqualTo(new Placed("h", 1));
                assertThat(j.events(id)).extracting(Event::kind).containsExactly("submitted", "placed");
            }
        } finally {
            pool.shutdownNow();
        }
        // And it is all on disk: a fresh open sees every placed job.
        try (Journal again = Journal.open(file)) {
            assertThat(again.list(Filter.all())).allSatisfy(r -> assertThat(r.state().name()).isEqualTo("placed"));
        }
    }

    @Test
    void aWriterAloneStillCommitsAndSeesItsOwnError() {
        try (Journal j = Journal.open(dir.resolve("k.db"), "n")) {
            String id = j.submit("ann", SPEC, 1);
            j.transition(id, new Placed("h", 1), 2);
            j.transition(id, new Running("h", 1, 3), 3);
            assertThatThrownBy(() -> j.transition(id, new Placed("h", 2), 4)).isInstanceOf(IllegalStateException.class);
            assertThat(j.get(id).orElseThrow().state()).isEqualTo(new Running("h", 1, 3));
        }
    }

    /**
     * A group whose COMMIT fails (here a deferred foreign-key violation, as a full disk would):
     * every writer of the group gets an error that names its own write, none of their changes
     * is kept, what was stored before is intact, and the next write commits normally.
     */
    @Test
    void aCommitThatFailsFailsEveryWriterOfItsGroupAndLosesNothingStoredBefore() throws Exception {
        Path file = dir.resolve("c.db");
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try (Journal j = Journal.open(file, "n")) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 4; i++) ids.add(j.submit("ann", SPEC, 1));
            j.transition(ids.get(3), new Placed("h", 1), 2);
            CountDownLatch release = new CountDownLatch(1);
            Future<?> holder = holdWriteLock(pool, j, release);
            List<Future<?>> group = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                String id = ids.get(i);
                group.add(pool.submit(() -> j.transition(id, new Placed("h", 1), 3)));
            }
            // Its statements succeed; the violation is only checked at COMMIT.
            group.add(pool.submit(() -> j.writeRaw("record an orphan event", c -> {
                try (java.sql.Statement st = c.createStatement()) {
                    st.execute("PRAGMA defer_foreign_keys=ON");
                    st.execute("INSERT INTO events(job_id, ts_ms, kind) VALUES ('n.404', 3, 'orphan')");
                }
                return null;
            })));
            await().atMost(java.time.Duration.ofSeconds(10)).until(() -> j.waitingWriters() == 4);
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 3; i++) {
                assertThatThrownBy(group.get(i)::get).hasCauseInstanceOf(JournalException.class)
                        .cause().hasMessageContaining("journal " + file).hasMessageContaining("FOREIGN KEY");
            }
            assertThatThrownBy(group.get(3)::get).cause().hasMessageContaining("record an orphan event");
            for (int i = 0; i < 3; i++) assertThat(j.get(ids.get(i)).orElseThrow().state().name()).isEqualTo("queued");
            assertThat(j.get(ids.get(3)).orElseThrow().state()).isEqualTo(new Placed("h", 1));
            assertThat(j.events("n.404")).isEmpty();
            // The connection is not left inside the failed transaction: the next write commits.
            j.transition(ids.get(0), new Placed("h", 1), 4);
            assertThat(j.get(ids.get(0)).orElseThrow().state()).isEqualTo(new Placed("h", 1));
        } finally {
            pool.shutdownNow();
        }
        try (Journal again = Journal.open(file)) {
            assertThat(again.list(Filter.all())).extracting(r -> r.state().name())
                    .containsExactlyInAnyOrder("placed", "queued", "queued", "placed");
        }
    }

    /** Holds the journal's write lock on a pool thread until {@code release}, so writers queue up behind it; returns once it is held. */
    private static Future<?> holdWriteLock(ExecutorService pool, Journal j, CountDownLatch release) {
        Future<?> holder = pool.submit(() -> j.holdingWriteLock(() -> {
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        await().atMost(java.time.Duration.ofSeconds(10)).until(j::writeLocked);
        return holder;
    }
}
