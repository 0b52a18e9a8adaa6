package io.herd.journal;

import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Running;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** kill -9 of a process writing the journal loses nothing committed and leaves nothing half-written. */
class JournalCrashTest {

    @TempDir
    Path dir;

    @Test
    void aKilledWriterLeavesAConsistentJournalThatCarriesOn() throws Exception {
        Path file = dir.resolve("journal.db");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long t0 = System.nanoTime();
        // The writer is killed: SQLite's native library, unpacked in its temp dir, goes with this test's.
        Process child = new ProcessBuilder(java, "-Dorg.sqlite.tmpdir=" + dir, "-cp", System.getProperty("java.class.path"),
                CrashWriter.class.getName(), file.toString(), "crashy")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile())
                .start();
        Journal[] watcher = new Journal[1];
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
                if (!child.isAlive()) throw new AssertionError("writer died: " + Files.readString(dir.resolve("child.log")));
                if (watcher[0] == null && Files.exists(file)) watcher[0] = Journal.open(file, "crashy");
                return watcher[0] != null && watcher[0].list(Filter.all().limit(200)).size() >= 200;
            });
        } finally {
            child.destroyForcibly();
            child.waitFor();
            if (watcher[0] != null) watcher[0].close();
        }
        System.out.printf("writer killed %d ms after its start%n", (System.nanoTime() - t0) / 1_000_000);

        try (Journal j = Journal.open(file, "crashy")) {
            assertThat(j.integrityCheck()).isEqualTo("ok");
            List<JobRecord> jobs = j.list(Filter.all());
            assertThat(jobs.size()).isGreaterThanOrEqualTo(200);

            // Every number handed out belongs to exactly one job or array: no gaps, no doubles.
            TreeSet<Long> seqs = new TreeSet<>();
            jobs.forEach(r -> assertThat(seqs.add(r.seq())).isTrue());
            Map<String, Integer> arraySizes = arrays(file);
            arraySizes.keySet().forEach(a -> assertThat(seqs.add(Long.parseLong(a.substring("crashy.".length())))).isTrue());
            assertThat(seqs.first()).isEqualTo(1);
            assertThat(seqs.last()).isEqualTo(seqs.size());

            // Arrays are whole.
            arraySizes.forEach((a, size) -> {
                assertThat(j.list(Filter.all().array(a))).as(a).hasSize(size);
                assertThat(j.arraySummary(a).size()).isEqualTo(size);
            });

            // Every job's row agrees with its history.
            for (JobRecord r : jobs) {
                assertThat(r.id()).isEqualTo("crashy." + r.seq());
                List<Event> ev = j.events(r.id());
                assertThat(ev).as(r.id()).isNotEmpty();
                assertThat(ev.get(0).kind()).isEqualTo("submitted");
                String lastStateEvent = ev.stream().map(Event::kind)
                        .filter(k -> k.equals("submitted") || Transitions.STATES.contains(k))
                        .reduce((a, b) -> b).orElseThrow();
                assertThat(lastStateEvent.equals("submitted") ? "queued" : lastStateEvent).as(r.id()).isEqualTo(r.state().name());
                if (r.state() instanceof Running run) {
                    assertThat(r.host()).isEqualTo(run.host());
                    assertThat(r.startedMs()).isNotNull();
                    assertThat(r.attempts()).isEqualTo(run.attempt());
                }
                if (r.state() instanceof Done) {
                    assertThat(r.exitCode()).isZero();
                    assertThat(r.finishedMs()).isNotNull();
                    assertThat(r.cpuMs()).isEqualTo(r.user().equals("ann") ? 10 : 0); // the writer bills ann's jobs only
                    boolean recorded = ev.stream().anyMatch(e -> e.kind().equals("outputs-recorded"));
                    assertThat(j.committedAttempt(r.id()).isPresent()).as(r.id()).isEqualTo(recorded);
                }
                j.committedAttempt(r.id()).ifPresent(a -> assertThat(j.outputs(r.id(), a)).hasSize(2));
            }

            // It carries on: the next id follows the last one handed out, and old jobs can finish.
            String next = j.submit("ann", JobSpec.of(List.of("true"), "/"), 1);
            assertThat(next).isEqualTo("crashy." + (seqs.last() + 1));
            for (JobRecord r : j.incomplete()) {
                if (r.state() instanceof Running run && j.committedAttempt(r.id()).isPresent()) {
                    j.transition(r.id(), new Done(0, run.host(), 2), 2);
                }
            }
            assertThat(j.integrityCheck()).isEqualTo("ok");
        }
    }

    private static Map<String, Integer> arrays(Path file) throws Exception {
        Map<String, Integer> out = new HashMap<>();
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id, size FROM arrays")) {
            while (rs.next()) out.put(rs.getString(1), rs.getInt(2));
        }
        return out;
    }
}
