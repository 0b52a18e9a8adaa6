package io.herd.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.journal.JobSpec;
import io.herd.journal.JobState;
import io.herd.journal.Journal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The invariant checker the multi-host scenarios rely on passes a sound journal and catches a broken one. */
class JournalInvariantsTest {

    @TempDir
    Path dir;

    private String doneJob(Journal j, long t) {
        String id = j.submit("ann", JobSpec.of(List.of("true"), "/"), t);
        j.transition(id, new JobState.Placed("n2", 1), t + 1);
        j.refused(id, 1, "no free slot", t + 2);
        j.transition(id, new JobState.Placed("n3", 1), t + 3);
        j.transition(id, new JobState.Running("n3", 1, t + 4), t + 4);
        j.transition(id, new JobState.Done(0, "n3", t + 5), t + 5);
        return id;
    }

    @Test
    void aSoundJournalHasNoViolations() {
        Path file = dir.resolve("journal.db");
        String id;
        try (Journal j = Journal.open(file, "n1")) {
            id = doneJob(j, 1000);
        }
        assertThat(JournalInvariants.violations(file, List.of(id))).isEmpty();
        assertThat(JournalInvariants.violations(JournalInvariants.snapshot(file, dir.resolve("copy.db")), List.of(id))).isEmpty();
    }

    @Test
    void aJobEndingTwiceARunningJobWithoutHostAndALostJobAreCaught() throws Exception {
        Path file = dir.resolve("journal.db");
        String done;
        String running;
        try (Journal j = Journal.open(file, "n1")) {
            done = doneJob(j, 1000);
            running = j.submit("ann", JobSpec.of(List.of("true"), "/"), 2000);
            j.transition(running, new JobState.Placed("n2", 1), 2001);
            j.transition(running, new JobState.Running("n2", 1, 2002), 2002);
        }
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO events(job_id, ts_ms, kind, detail) VALUES ('" + done + "', 3000, 'done', 'again')");
            st.executeUpdate("UPDATE jobs SET host = NULL WHERE id = '" + running + "'");
        }
        assertThat(JournalInvariants.violations(file, List.of(done, running, "n1.999")))
                .anyMatch(v -> v.startsWith(done + " went done -> done"))
                .anyMatch(v -> v.equals(running + " is running without a host"))
                .anyMatch(v -> v.startsWith(running + " is running") && v.contains("not done"))
                .anyMatch(v -> v.equals("n1.999 is not in the journal (lost)"));
    }
}
