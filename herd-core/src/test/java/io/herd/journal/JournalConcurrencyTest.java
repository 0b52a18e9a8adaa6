package io.herd.journal;

import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Running;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/** WAL: readers see committed state and never wait for a writer. */
class JournalConcurrencyTest {

    @TempDir
    Path dir;

    static final JobSpec SPEC = JobSpec.of(List.of("true"), "/");

    @Test
    void readersInThisAndAnotherJournalKeepReadingWhileOneWrites() throws Exception {
        Path file = dir.resolve("j.db");
        try (Journal j = Journal.open(file, "n"); Journal other = Journal.open(file)) {
            AtomicBoolean writing = new AtomicBoolean(true);
            AtomicInteger reads = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                for (Journal reader : List.of(j, other)) {
                    pool.submit(() -> {
                        long lastSeen = 0;
                        try {
                            while (writing.get()) {
                                List<JobRecord> newest = reader.list(Filter.all().limit(20));
                                if (!newest.isEmpty()) {
                                    long seq = newest.get(0).seq();
                                    assertThat(seq).as("a reader never goes back in time").isGreaterThanOrEqualTo(lastSeen);
                                    lastSeen = seq;
                                    JobRecord r = reader.get(newest.get(newest.size() - 1).id()).orElseThrow();
                                    assertThat(reader.events(r.id())).isNotEmpty();
                                }
                                reader.incomplete();
                                reads.incrementAndGet();
                            }
                        } catch (Throwable t) {
                            errors.add(t);
                        }
                        return null;
                    });
                }
                Future<?> writer = pool.submit(() -> {
                    try {
                        for (int i = 0; i < 40; i++) {
                            String id = j.submit("ann", SPEC, i);
                            j.transition(id, new Placed("h", 1), i);
                            j.transition(id, new Running("h", 1, i), i);
                            j.transition(id, new Done(0, "h", i), i);
                        }
                    } finally {
                        writing.set(false);
                    }
                    return null;
                });
                writer.get(60, TimeUnit.SECONDS);
            } finally {
                writing.set(false);
                pool.shutdown();
                assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(errors).isEmpty();
            assertThat(reads.get()).isGreaterThan(10);
            assertThat(other.list(Filter.all().states("done"))).hasSize(40);
        }
    }

    @Test
    void anOpenWriteTransactionDoesNotBlockReaders() throws Exception {
        Path file = dir.resolve("j.db");
        try (Journal j = Journal.open(file, "n")) {
            String id = j.submit("ann", SPEC, 1);
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
                st.execute("BEGIN IMMEDIATE");
                st.executeUpdate("UPDATE jobs SET user = 'mallory'");
                assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
                    assertThat(j.get(id).orElseThrow().user()).as("uncommitted change not visible").isEqualTo("ann");
                    assertThat(j.list(Filter.all())).hasSize(1);
                });
                st.execute("ROLLBACK");
            }
        }
    }
}
