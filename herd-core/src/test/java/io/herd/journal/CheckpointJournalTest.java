package io.herd.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's latest checkpoint ({@code --checkpoint signal}): kept per job, replaced whole, durable, only from its running attempt. */
class CheckpointJournalTest {

    @TempDir
    Path dir;

    static final JobSpec SPEC = JobSpec.builder(List.of("sim")).cwd("/w").checkpoint("signal").build();
    static final InputFile STATE_1 = new InputFile("state", "a".repeat(64), 3, 0644);
    static final InputFile PART = new InputFile("out/part1", "b".repeat(64), 10, 0600);
    static final InputFile STATE_2 = new InputFile("state", "c".repeat(64), 4, 0644);

    @Test
    void theLatestCheckpointOfTheRunningAttemptIsKeptAndReplacesTheOneBefore() {
        Path file = dir.resolve("j.db");
        String id;
        try (Journal j = Journal.open(file, "n")) {
            id = j.submit("ann", SPEC, 1);
            assertThat(j.get(id).orElseThrow().spec().checkpoint()).isEqualTo("signal:USR1");
            assertThat(j.checkpoint(id)).isEmpty();
            j.transition(id, new Placed("h", 1), 2);
            j.transition(id, new Running("h", 1, 3), 3);
            assertThat(j.checkpointed(id, 1, List.of(STATE_1, PART), 4)).isEmpty();
            assertThat(j.checkpoint(id)).containsExactly(PART, STATE_1);
            // A report for an attempt that is not the running one changes nothing.
            assertThat(j.checkpointed(id, 2, List.of(STATE_2), 5)).isNull();
            j.forgiveAttempt(id);
            j.transition(id, new Queued("evicted"), 5);
            assertThat(j.checkpointed(id, 1, List.of(STATE_2), 5)).as("not running").isNull();
            j.transition(id, new Placed("h2", 2), 6);
            j.transition(id, new Running("h2", 2, 7), 7);
            assertThat(j.checkpointed(id, 2, List.of(STATE_2), 8)).containsExactly(PART, STATE_1);
            assertThat(j.events(id)).extracting(Event::kind).filteredOn("checkpointed"::equals).hasSize(2);
            assertThat(j.events(id).stream().filter(e -> e.kind().equals("checkpointed")).findFirst().orElseThrow().detail())
                    .isEqualTo("attempt 1 on h saved 2 files (13 bytes); the next attempt resumes from them");
        }
        try (Journal again = Journal.open(file)) {
            assertThat(again.checkpoint(id)).containsExactly(STATE_2);
        }
    }

    @Test
    void aCheckpointNamingAFileTwiceIsRefusedAndTheOneBeforeStays() {
        try (Journal j = Journal.open(dir.resolve("k.db"), "n")) {
            String id = j.submit("ann", SPEC, 1);
            j.transition(id, new Placed("h", 1), 2);
            j.transition(id, new Running("h", 1, 3), 3);
            j.checkpointed(id, 1, List.of(STATE_1), 4);
            assertThatThrownBy(() -> j.checkpointed(id, 1, List.of(STATE_2, STATE_2), 5))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("state is listed twice");
            assertThat(j.checkpoint(id)).containsExactly(STATE_1);
        }
    }

    @Test
    void aSchemaTwoJournalGainsTheEvictionsCountAndKeepsItsJobs() throws Exception {
        Path file = dir.resolve("v2.db");
        String id;
        try (Journal j = Journal.open(file, "n")) {
            id = j.submit("ann", JobSpec.of(List.of("true"), "/"), 1);
            j.transition(id, new Placed("h", 1), 2);
            j.transition(id, new Queued("host h lost"), 3);
            j.transition(id, new Placed("h", 2), 4);
        }
        // As herd left it before evictions were counted apart.
        downgrade(file, 2, "ALTER TABLE jobs DROP COLUMN evictions");
        try (Journal j = Journal.open(file, "n")) {
            JobRecord r = j.get(id).orElseThrow();
            assertThat(r.attempts()).isEqualTo(2);
            assertThat(r.evictions()).isZero();
            assertThat(r.retried()).isTrue();
            j.forgiveAttempt(id);
            assertThat(j.get(id).orElseThrow().evictions()).isEqualTo(1);
            assertThat(j.integrityCheck()).isEqualTo("ok");
        }
        assertThat(schemaVersion(file)).isEqualTo("3");
    }

    @Test
    void aSchemaOneJournalGainsTheCheckpointTableAndKeepsItsJobs() throws Exception {
        Path file = dir.resolve("old.db");
        String id;
        try (Journal j = Journal.open(file, "n")) {
            id = j.submit("ann", JobSpec.of(List.of("true"), "/"), 1);
        }
        // As herd 1 left it: no checkpoints table, no evictions column.
        downgrade(file, 1, "DROP TABLE checkpoints", "ALTER TABLE jobs DROP COLUMN evictions");
        try (Journal j = Journal.open(file, "n")) {
            assertThat(j.get(id)).isPresent();
            assertThat(j.checkpoint(id)).isEmpty();
            assertThat(j.integrityCheck()).isEqualTo("ok");
        }
        assertThat(schemaVersion(file)).isEqualTo(Integer.toString(Journal.SCHEMA_VERSION));
    }

    @Test
    void aBadCheckpointModeIsRefusedInTheSpec() {
        assertThatThrownBy(() -> JobSpec.builder(List.of("x")).checkpoint("criu").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--checkpoint 'criu'");
        assertThat(JobSpec.builder(List.of("x")).checkpoint("none").build().checkpoint()).isNull();
    }

    /** Makes {@code file} look as an older herd left it: runs {@code sql}, then sets the schema version. */
    private static void downgrade(Path file, int version, String... sql) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
            for (String q : sql) st.execute(q);
            st.executeUpdate("UPDATE meta SET value = '" + version + "' WHERE key = 'schema_version'");
        }
    }

    private static String schemaVersion(Path file) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement();
             var rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
