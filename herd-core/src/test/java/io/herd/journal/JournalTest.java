package io.herd.journal;

import io.herd.journal.JobState.Cancelled;
import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Failed;
import io.herd.journal.JobState.Held;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JournalTest {

    @TempDir
    Path dir;
    Path file;
    Journal j;

    static final JobSpec SPEC = JobSpec.builder(List.of("openssl", "genrsa", "2048"))
            .cwd("/home/ann/keys").env(Map.of("LANG", "C.UTF-8")).cpus(2).memBytes(1L << 30)
            .constraint("mem>=8G && label==fast").needs(Set.of("openssl")).inputGlobs(List.of("*.cfg"))
            .outputGlobs(List.of("*.pem")).pinnedNode(null).build();

    @BeforeEach
    void open() {
        file = dir.resolve("data/journal.db");
        j = Journal.open(file, "node-a");
    }

    @AfterEach
    void close() {
        j.close();
    }

    static OutputFile out(String path, int n) {
        return new OutputFile(path, "%064x".formatted(n), n * 10L);
    }

    /** Submits a job and runs it to running on {@code host} as attempt 1. */
    String running(String host) {
        String id = j.submit("ann", SPEC, 1);
        j.transition(id, new Placed(host, 1), 2);
        j.transition(id, new Running(host, 1, 3), 3);
        return id;
    }

    JobRecord rec(String id) {
        return j.get(id).orElseThrow();
    }

    @Test
    void aTransitionReturnsTheRecordAReadSeesAfterIt() {
        JobSpec once = JobSpec.builder(List.of("true")).cwd("/tmp").maxRetries(0).build();
        String a = j.submit("ann", once, 1);
        assertThat(j.transition(a, new Placed("n2", 1), 2)).isEqualTo(rec(a));
        assertThat(j.transition(a, new Running("n2", 1, 3), 3, 40)).isEqualTo(rec(a));
        assertThat(j.transition(a, new Queued("n2 left"), 4)).isEqualTo(rec(a));
        assertThat(j.transition(a, new Held("kept failing"), 5)).isEqualTo(rec(a));
        assertThat(j.transition(a, new Queued("released"), 6)).isEqualTo(rec(a));
        assertThat(rec(a).attemptsAtRelease()).isEqualTo(1);
        assertThat(j.transition(a, new Placed("n3", 2), 7)).isEqualTo(rec(a));
        assertThat(j.transition(a, new Running("n3", 2, 8), 8)).isEqualTo(rec(a));
        JobRecord done = j.transition(a, new Done(3, "n3", 9), 9, 25);
        assertThat(done).isEqualTo(rec(a));
        assertThat(done.cpuMs()).isEqualTo(65);
        assertThat(done.exitCode()).isEqualTo(3);

        String b = running("n2");
        assertThat(j.transition(b, new Failed("out of memory", 137), 10, 5)).isEqualTo(rec(b));
        String c = j.submit("ann", SPEC, 11);
        assertThat(j.transition(c, new Cancelled("ann"), 12)).isEqualTo(rec(c));
    }

    // ------------------------------------------------------------ file, schema

    @Test
    void opensWithWalFullAndForeignKeys() throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
            var rs = st.executeQuery("PRAGMA journal_mode");
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("wal");
            rs = st.executeQuery("SELECT value FROM meta WHERE key = 'schema_version'");
            rs.next();
            assertThat(rs.getString(1)).isEqualTo(Integer.toString(Journal.SCHEMA_VERSION));
        }
        assertThat(j.writerPragma("journal_mode")).isEqualTo("wal");
        assertThat(j.writerPragma("synchronous")).as("FULL").isEqualTo("2");
        assertThat(j.writerPragma("foreign_keys")).isEqualTo("1");
        assertThat(j.writerPragma("busy_timeout")).isEqualTo(Integer.toString(Journal.BUSY_TIMEOUT_MS));
        assertThat(j.homeNode()).isEqualTo("node-a");
        assertThat(j.integrityCheck()).isEqualTo("ok");
    }

    @Test
    void refusesASchemaFromANewerHerd() throws SQLException {
        j.submit("ann", SPEC, 1);
        j.close();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
            st.executeUpdate("UPDATE meta SET value = '" + (Journal.SCHEMA_VERSION + 1) + "' WHERE key = 'schema_version'");
        }
        assertThatThrownBy(() -> Journal.open(file, "node-a"))
                .isInstanceOf(JournalException.class)
                .hasMessageContaining("schema version " + (Journal.SCHEMA_VERSION + 1))
                .hasMessageContaining("newer herd")
                .hasMessageContaining("upgrade herd");
        j = Journal.open(dir.resolve("other.db"), "node-a"); // for close()
    }

    @Test
    void refusesAnotherNodesJournalAndFilesThatAreNotJournals() throws Exception {
        j.close();
        assertThatThrownBy(() -> Journal.open(file, "node-b")).isInstanceOf(JournalException.class)
                .hasMessageContaining("belongs to home node 'node-a'");
        try (Journal again = Journal.open(file)) {
            assertThat(again.homeNode()).isEqualTo("node-a");
        }
        assertThatThrownBy(() -> Journal.open(dir.resolve("fresh.db"))).isInstanceOf(JournalException.class)
                .hasMessageContaining("give the home node's name");
        Path junk = Files.writeString(dir.resolve("junk.db"), "this is not sqlite at all, just some words ".repeat(100));
        assertThatThrownBy(() -> Journal.open(junk, "node-a")).isInstanceOf(JournalException.class)
                .hasMessageContaining("not a herd journal");
        Path other = dir.resolve("other-app.db");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + other); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE photos (id INTEGER)");
        }
        assertThatThrownBy(() -> Journal.open(other, "node-a")).isInstanceOf(JournalException.class)
                .hasMessageContaining("not a herd journal");
        j = Journal.open(file, "node-a");
    }

    // ------------------------------------------------------------ submit

    @Test
    void idsNameTheHomeNodeAndKeepGrowingAcrossRestarts() {
        String a = j.submit("ann", SPEC, 10);
        String b = j.submit("bob", SPEC, 11);
        assertThat(a).isEqualTo("node-a.1");
        assertThat(b).isEqualTo("node-a.2");
        j.close();
        j = Journal.open(file, "node-a");
        assertThat(j.submit("ann", SPEC, 12)).isEqualTo("node-a.3");
        String arr = j.submitArray("ann", SPEC, List.of(SPEC, SPEC), 13);
        assertThat(arr).isEqualTo("node-a.4");
        assertThat(j.list(Filter.all().array(arr))).extracting(JobRecord::id).containsExactly("node-a.6", "node-a.5");
        assertThat(j.submit("ann", SPEC, 14)).isEqualTo("node-a.7");
    }

    @Test
    void aSubmittedJobReadsBackWhole() {
        String id = j.submit("ann", SPEC, 1234);
        JobRecord r = rec(id);
        assertThat(r.spec()).isEqualTo(SPEC);
        assertThat(r.user()).isEqualTo("ann");
        assertThat(r.state()).isEqualTo(Queued.SUBMITTED);
        assertThat(r.submittedMs()).isEqualTo(1234);
        assertThat(r.attempts()).isZero();
        assertThat(r.host()).isNull();
        assertThat(r.exitCode()).isNull();
        assertThat(r.arrayId()).isNull();
        assertThat(r.arrayIndex()).isEqualTo(-1);
        assertThat(j.events(id)).singleElement().satisfies(e -> {
            assertThat(e.kind()).isEqualTo("submitted");
            assertThat(e.tsMs()).isEqualTo(1234);
        });
        assertThat(j.get("node-a.99")).isEmpty();
    }

    @Test
    void specDefaultsAndValidation() {
        JobSpec s = JobSpec.of(List.of("true"), "/x");
        assertThat(s.maxRetries()).isEqualTo(3);
        assertThat(s.cpus()).isEqualTo(1);
        assertThat(s.arrayIndex()).isEqualTo(-1);
        assertThat(s.arrayId()).isNull();
        assertThatThrownBy(() -> JobSpec.of(List.of(), "/x")).hasMessageContaining("argv is empty");
        assertThatThrownBy(() -> s.toBuilder().cpus(0).build()).hasMessageContaining("cpus");
        assertThatThrownBy(() -> j.submit(" ", s, 1)).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------ transitions

    @Test
    void aJobRunsToDoneAndEveryStepIsRecorded() {
        String id = j.submit("ann", SPEC, 1);
        j.transition(id, new Placed("node-b", 1), 2);
        assertThat(rec(id)).satisfies(r -> {
            assertThat(r.state()).isEqualTo(new Placed("node-b", 1));
            assertThat(r.host()).isEqualTo("node-b");
            assertThat(r.attempts()).isEqualTo(1);
        });
        j.transition(id, new Running("node-b", 1, 3), 3);
        assertThat(rec(id).startedMs()).isEqualTo(3);
        j.addCpu(id, 700);
        j.addCpu(id, 300);
        j.transition(id, new Done(0, "node-b", 9), 9);
        JobRecord r = rec(id);
        assertThat(r.state()).isEqualTo(new Done(0, "node-b", 9));
        assertThat(r.state().terminal()).isTrue();
        assertThat(r.exitCode()).isZero();
        assertThat(r.finishedMs()).isEqualTo(9);
        assertThat(r.cpuMs()).isEqualTo(1000);
        assertThat(j.events(id)).extracting(Event::kind).containsExactly("submitted", "placed", "running", "done");
        assertThat(j.events(id).get(1).detail()).isEqualTo("on node-b, attempt 1");
        assertThat(j.incomplete()).isEmpty();
    }

    @Test
    void evictionsDoNotCountAgainstTheRetries() {
        String id = j.submit("ann", SPEC.toBuilder().maxRetries(0).build(), 1);
        for (int attempt = 1; attempt <= 3; attempt++) {
            j.transition(id, new Placed("h" + attempt, attempt), 10 * attempt);
            j.transition(id, new Running("h" + attempt, attempt, 10 * attempt + 1), 10 * attempt + 1);
            j.forgiveAttempt(id);   // evicted: its host's owner came back
            j.transition(id, new Queued("evicted: owner returned on h" + attempt), 10 * attempt + 2);
            assertThat(rec(id).retriesExhausted()).isFalse();
        }
        assertThat(rec(id).attempts()).isEqualTo(3);
        assertThat(rec(id).attemptsInBudget()).isZero();
        assertThat(rec(id).evictions()).isEqualTo(3);
        assertThat(rec(id).retried()).as("evicted, moved: not retried").isFalse();
        j.forgiveAttempt(id);
        assertThat(rec(id).attemptsAtRelease()).as("never more than the attempts made").isEqualTo(3);
        assertThat(rec(id).evictions()).as("never more than the attempts made").isEqualTo(3);
        j.transition(id, new Placed("h4", 4), 50);
        j.transition(id, new Queued("host h4 lost"), 51);
        assertThat(rec(id).retriesExhausted()).as("a lost host still counts").isTrue();
        assertThatThrownBy(() -> j.forgiveAttempt("node-a.999")).isInstanceOf(RuntimeException.class);
    }

    @Test
    void lostHostsCountAttemptsUntilTheJobIsHeldThenReleaseRenewsThem() {
        String id = j.submit("ann", SPEC.toBuilder().maxRetries(1).build(), 1);
        for (int attempt = 1; attempt <= 2; attempt++) {
            j.transition(id, new Placed("h" + attempt, attempt), 10 * attempt);
            j.transition(id, new Running("h" + attempt, attempt, 10 * attempt + 1), 10 * attempt + 1);
            j.transition(id, new Queued("host h" + attempt + " lost"), 10 * attempt + 2);
            assertThat(rec(id).host()).isNull();
            assertThat(rec(id).reason()).isEqualTo("host h" + attempt + " lost");
        }
        JobRecord r = rec(id);
        assertThat(r.attempts()).isEqualTo(2);
        assertThat(r.retriesExhausted()).isTrue();
        assertThatThrownBy(() -> j.transition(id, new Placed("h3", 3), 40))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("from queued").hasMessageContaining("to placed");
        j.transition(id, new Held("lost 2 hosts: h1, h2"), 41);
        assertThat(rec(id).reason()).isEqualTo("lost 2 hosts: h1, h2");
        assertThat(j.incomplete()).extracting(JobRecord::id).containsExactly(id);
        j.transition(id, new Queued("released by ann"), 42);
        r = rec(id);
        assertThat(r.attemptsAtRelease()).isEqualTo(2);
        assertThat(r.retriesExhausted()).isFalse();
        j.transition(id, new Placed("h3", 3), 43);
        j.transition(id, new Queued("refused by h3: no slot"), 44);
        assertThat(rec(id).attempts()).isEqualTo(3);
        j.transition(id, new Placed("h4", 4), 45);
        j.transition(id, new Running("h4", 4, 46), 46);
        j.transition(id, new Done(3, "h4", 47), 47);
        assertThat(rec(id).exitCode()).isEqualTo(3);
        assertThat(rec(id).retried()).isTrue();
        assertThat(j.events(id)).extracting(Event::kind).containsExactly("submitted",
                "placed", "running", "queued", "placed", "running", "queued", "held", "queued",
                "placed", "queued", "placed", "running", "done");
    }

    @Test
    void failedAndCancelledRecordWhy() {
        String f = running("h");
        j.transition(f, new Failed("program 'povray' not found on h", 127), 5);
        assertThat(rec(f).reason()).isEqualTo("program 'povray' not found on h");
        assertThat(rec(f).exitCode()).isEqualTo(127);
        assertThat(rec(f).finishedMs()).isEqualTo(5);

        String q = j.submit("ann", SPEC, 6);
        j.transition(q, new Failed("constraint 'mem>=1T' matches no node", -1), 7);
        assertThat(rec(q).exitCode()).isNull();
        assertThat(rec(q).state()).isEqualTo(new Failed("constraint 'mem>=1T' matches no node", -1));

        String c = running("h");
        j.transition(c, new Cancelled("ann"), 8);
        assertThat(rec(c).reason()).isEqualTo("cancelled by ann");
        assertThat(j.events(c).get(3).detail()).isEqualTo("by ann");
    }

    @Test
    void illegalTransitionsAreRefusedAndChangeNothing() {
        String id = j.submit("ann", SPEC, 1);
        assertThatThrownBy(() -> j.transition(id, new Running("h", 1, 2), 2))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("from queued").hasMessageContaining("to running");
        assertThatThrownBy(() -> j.transition(id, new Done(0, "h", 2), 2)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> j.transition(id, new Placed("h", 2), 2)).hasMessageContaining("attempt 1");
        j.transition(id, new Cancelled("ann"), 3);
        for (String s : Transitions.STATES) {
            assertThatThrownBy(() -> j.transition(id, TransitionsTest.sample(s), 4))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("from cancelled");
        }
        assertThat(j.events(id)).extracting(Event::kind).containsExactly("submitted", "cancelled");
        assertThat(rec(id).state()).isEqualTo(new Cancelled("ann"));
        assertThatThrownBy(() -> j.transition("node-a.404", new Cancelled("ann"), 5)).isInstanceOf(NoSuchElementException.class);
        assertThatThrownBy(() -> j.addCpu("node-a.404", 5)).isInstanceOf(NoSuchElementException.class);
    }

    // ------------------------------------------------------------ outputs

    @Test
    void doneNeedsTheRecordedOutputsCommitted() {
        String id = running("h");
        j.recordOutputs(id, 1, List.of(out("a.pem", 1), out("sub/b.pem", 2)), 4);
        assertThatThrownBy(() -> j.transition(id, new Done(0, "h", 5), 5))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("commit them first");
        assertThat(j.committedAttempt(id)).isEmpty();
        assertThat(j.committedOutputs(id)).isEmpty();
        j.commitOutputs(id, 1, 6);
        j.commitOutputs(id, 1, 7); // repeated after a crash: nothing happens
        j.transition(id, new Done(0, "h", 8), 8);
        assertThat(j.committedAttempt(id)).hasValue(1);
        assertThat(j.committedOutputs(id)).containsExactly(out("a.pem", 1), out("sub/b.pem", 2));
        assertThat(j.events(id)).extracting(Event::kind)
                .containsExactly("submitted", "placed", "running", "outputs-recorded", "outputs-committed", "done");
    }

    @Test
    void aJobWithoutOutputsFinishesWithoutACommit() {
        String id = running("h");
        j.transition(id, new Done(0, "h", 5), 5);
        assertThat(j.committedAttempt(id)).isEmpty();
    }

    @Test
    void aReRunLeavesTheEarlierAttemptsRecordAloneAndOnlyOneAttemptIsEverCommitted() {
        String id = running("h1");
        j.recordOutputs(id, 1, List.of(out("a.pem", 1)), 4);
        j.transition(id, new Queued("host h1 lost"), 5); // nothing committed: may run again
        j.transition(id, new Placed("h2", 2), 6);
        j.transition(id, new Running("h2", 2, 7), 7);
        // the lost attempt's late report is stale
        assertThatThrownBy(() -> j.recordOutputs(id, 1, List.of(out("a.pem", 9)), 8))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("stale");
        assertThatThrownBy(() -> j.commitOutputs(id, 1, 8)).hasMessageContaining("stale");
        j.recordOutputs(id, 2, List.of(out("a.pem", 5)), 9);
        j.recordOutputs(id, 2, List.of(out("a.pem", 2), out("b.pem", 3)), 10); // re-sent report replaces it
        assertThat(j.outputs(id, 1)).containsExactly(out("a.pem", 1));
        assertThat(j.outputs(id, 2)).containsExactly(out("a.pem", 2), out("b.pem", 3));
        j.commitOutputs(id, 2, 11);
        // committed: the job may not run again, and nothing can be recorded or committed over it
        assertThatThrownBy(() -> j.transition(id, new Queued("host h2 lost"), 12))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("duplicate")
                .hasMessageContaining("from running").hasMessageContaining("to queued");
        assertThatThrownBy(() -> j.recordOutputs(id, 2, List.of(out("c.pem", 1)), 12)).hasMessageContaining("committed");
        assertThatThrownBy(() -> j.commitOutputs(id, 1, 12)).isInstanceOf(IllegalStateException.class);
        j.transition(id, new Done(0, "h2", 13), 13);
        assertThat(j.committedOutputs(id)).containsExactly(out("a.pem", 2), out("b.pem", 3));
        assertThatThrownBy(() -> j.commitOutputs(id, 1, 14)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theFileItselfAllowsOneCommittedAttemptPerJobAndKeepsCommittedFilesFinal() throws SQLException {
        String id = running("h1");
        j.recordOutputs(id, 1, List.of(out("a.pem", 1)), 4);
        j.commitOutputs(id, 1, 5);
        // Code that bypassed the checks still cannot commit a second attempt or touch the first.
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO output_sets(job_id, attempt, recorded_ms) VALUES ('" + id + "', 2, 6)");
            assertThatThrownBy(() -> st.executeUpdate(
                    "UPDATE output_sets SET committed_ms = 7 WHERE job_id = '" + id + "' AND attempt = 2"))
                    .hasMessageContaining("UNIQUE");
            st.executeUpdate("INSERT INTO outputs(job_id, attempt, path, sha256, size) VALUES ('" + id + "', 2, 'x', 'y', 1)");
            assertThatThrownBy(() -> st.executeUpdate("UPDATE outputs SET committed = 1 WHERE attempt = 2"))
                    .hasMessageContaining("only be committed with their attempt");
            assertThatThrownBy(() -> st.executeUpdate("DELETE FROM outputs WHERE attempt = 1"))
                    .hasMessageContaining("final");
            assertThatThrownBy(() -> st.executeUpdate("UPDATE outputs SET sha256 = 'z' WHERE attempt = 1"))
                    .hasMessageContaining("final");
        }
    }

    @Test
    void outputPathsMustStayInsideTheJobDirectory() {
        for (String bad : List.of("/etc/passwd", "../x", "a/../../x", "a//b", "./a", "")) {
            assertThatThrownBy(() -> out(bad, 1)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new OutputFile("a", "ABC", 1)).hasMessageContaining("sha256");
        String id = running("h");
        assertThatThrownBy(() -> j.recordOutputs(id, 1, List.of(out("a", 1), out("a", 2)), 4)).hasMessageContaining("twice");
    }

    // ------------------------------------------------------------ arrays, filters

    @Test
    void anArrayOf2000IsOneTransactionAndSummarises() {
        JobSpec template = JobSpec.of(List.of("openssl", "genrsa", "-out", "key{#}.pem", "{}"), "/w");
        List<JobSpec> jobs = IntStream.rangeClosed(1, 2000)
                .mapToObj(i -> JobSpec.builder(List.of("openssl", "genrsa", "-out", "key" + i + ".pem", "2048"))
                        .cwd("/w").arrayItem(Integer.toString(i)).build())
                .toList();
        j.submit("ann", SPEC, 1); // an id before the array
        j.submitArray("ann", template, jobs.subList(0, 10), 1); // warm-up: JIT, statement cache
        // One transaction, one commit (its speed is the bench's business, not a unit test's).
        long[] before = j.groupCommits();
        String arr = j.submitArray("ann", template, jobs, 100);
        long[] after = j.groupCommits();
        assertThat(after[0] - before[0]).as("commits for the 2,000-job array").isEqualTo(1);
        assertThat(after[1] - before[1]).as("writes for the 2,000-job array").isEqualTo(1);

        List<JobRecord> all = j.list(Filter.all().array(arr));
        assertThat(all).hasSize(2000);
        JobRecord first = all.get(all.size() - 1);
        assertThat(first.arrayIndex()).isZero();
        assertThat(first.spec().arrayId()).isEqualTo(arr);
        assertThat(first.spec().arrayIndex()).isZero();
        assertThat(first.spec().arrayItem()).isEqualTo("1");
        assertThat(first.spec().argv()).containsExactly("openssl", "genrsa", "-out", "key1.pem", "2048");
        assertThat(first.seq()).isEqualTo(Long.parseLong(arr.substring("node-a.".length())) + 1);

        // run some: 4 done (one retried, one moved), 1 failed, 1 cancelled
        for (int i = 0; i < 4; i++) {
            String id = all.get(all.size() - 1 - i).id();
            int attempt = 1;
            if (i == 0) {
                j.transition(id, new Placed("h", 1), 101);
                j.transition(id, new Queued("refused by h"), 102);
                attempt = 2;
            }
            if (i == 3) {
                j.transition(id, new Placed("slow", 1), 101);
                j.transition(id, new Running("slow", 1, 101), 101);
                j.forgiveAttempt(id);
                j.transition(id, new Queued("moved: fast would run it sooner"), 102);
                attempt = 2;
            }
            j.transition(id, new Placed("h", attempt), 103);
            j.transition(id, new Running("h", attempt, 104), 104);
            j.addCpu(id, 1000);
            j.transition(id, new Done(0, "h", 200 + i), 200 + i);
        }
        j.transition(all.get(1995).id(), new Failed("missing input", -1), 150);
        j.transition(all.get(1994).id(), new Cancelled("ann"), 160);

        ArraySummary s = j.arraySummary(arr);
        assertThat(s.size()).isEqualTo(2000);
        assertThat(s.user()).isEqualTo("ann");
        assertThat(s.template()).isEqualTo(template);
        assertThat(s.byState()).isEqualTo(Map.of("queued", 1994, "done", 4, "failed", 1, "cancelled", 1));
        assertThat(s.count("running")).isZero();
        assertThat(s.retried()).as("the moved job is not counted").isEqualTo(1);
        assertThat(s.cpuMs()).isEqualTo(4000);
        assertThat(s.firstSubmittedMs()).isEqualTo(100);
        assertThat(s.lastFinishedMs()).isEqualTo(203);
        assertThat(s.finished()).isEqualTo(6);
        assertThat(s.complete()).isFalse();
        assertThatThrownBy(() -> j.arraySummary("node-a.1")).isInstanceOf(NoSuchElementException.class);
        assertThatThrownBy(() -> j.submitArray("ann", template, List.of(), 1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void filtersByUserStateAndArrayNewestFirst() {
        List<String> ann = new ArrayList<>();
        for (int i = 0; i < 5; i++) ann.add(j.submit("ann", SPEC, i));
        String bob = j.submit("bob", SPEC, 9);
        String arr = j.submitArray("ann", SPEC, List.of(SPEC, SPEC, SPEC), 10);
        j.transition(ann.get(1), new Placed("h", 1), 11);
        j.transition(ann.get(2), new Cancelled("ann"), 12);

        assertThat(j.list(Filter.all())).hasSize(9).extracting(JobRecord::seq).isSortedAccordingTo((a, b) -> Long.compare(b, a));
        assertThat(j.list(Filter.all().user("bob"))).extracting(JobRecord::id).containsExactly(bob);
        assertThat(j.list(Filter.all().user("ann").limit(2))).hasSize(2)
                .allSatisfy(r -> assertThat(r.arrayId()).isEqualTo(arr));
        assertThat(j.list(Filter.all().user("ann").states("placed", "cancelled")))
                .extracting(JobRecord::id).containsExactly(ann.get(2), ann.get(1));
        assertThat(j.list(Filter.all().states("queued").array(arr))).hasSize(3);
        assertThat(j.list(Filter.all().user("carl"))).isEmpty();
        assertThat(j.incomplete()).extracting(JobRecord::id).doesNotContain(ann.get(2)).hasSize(8)
                .first().isEqualTo(ann.get(0));
        assertThatThrownBy(() -> Filter.all().states("sleeping")).hasMessageContaining("unknown job state");
    }

    /** Specs are parsed once while their jobs are about: same text, same spec; the bound keeps huge ones out. */
    @Test
    void aSpecReadAgainIsTheOneParsedBeforeUnlessItIsHuge() throws Exception {
        String id = j.submit("ann", SPEC, 1);
        assertThat(j.get(id).orElseThrow().spec()).isSameAs(j.get(id).orElseThrow().spec()).isEqualTo(SPEC);
        String other = j.submit("ann", JobSpec.builder(List.of("echo", "other")).cwd("/tmp").build(), 2);
        assertThat(j.get(other).orElseThrow().spec()).isNotSameAs(j.get(id).orElseThrow().spec());
        JobSpec huge = JobSpec.builder(List.of("echo", "x".repeat(20_000))).cwd("/tmp").build();
        String big = j.submit("ann", huge, 3);
        assertThat(j.get(big).orElseThrow().spec()).isEqualTo(huge).isNotSameAs(j.get(big).orElseThrow().spec());
    }
}
