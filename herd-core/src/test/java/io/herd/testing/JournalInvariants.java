package io.herd.testing;

import io.herd.journal.Event;
import io.herd.journal.Filter;
import io.herd.journal.JobRecord;
import io.herd.journal.Journal;
import io.herd.journal.Transitions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The one check that a home node's journal is consistent, read with the journal's own API from
 * the file of a stopped (or killed) daemon:
 * <ul>
 * <li>SQLite's integrity and foreign-key checks pass;</li>
 * <li>no job is placed or running without a host;</li>
 * <li>each job's history starts with "submitted", follows the state graph ({@link Transitions}) from
 *     event to event ("refused" returns a placed job to the queue), ends in its current state, reaches a terminal state at most once and commits
 *     outputs at most once, before it is done;</li>
 * <li>every job the caller expects is done with exit 0, its outputs committed by the attempt that finished.</li>
 * </ul>
 */
public final class JournalInvariants {

    private static final Set<String> STATE_KINDS = Set.copyOf(Transitions.STATES);

    private JournalInvariants() {}

    /**
     * A consistent copy of a live daemon's journal (SQLite's online backup), to check without
     * stopping it; {@code copy} is overwritten.
     */
    public static Path snapshot(Path live, Path copy) {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + live.toAbsolutePath());
             java.sql.Statement st = c.createStatement()) {
            java.nio.file.Files.deleteIfExists(copy);
            st.executeUpdate("backup to " + copy.toAbsolutePath());
            return copy;
        } catch (java.sql.SQLException | java.io.IOException e) {
            throw new AssertionError("cannot copy the journal " + live + ": " + e.getMessage(), e);
        }
    }

    /** What is wrong, one line per violation (at most 50); empty when the journal is consistent. */
    public static List<String> violations(Path journalFile, Collection<String> expectDone) {
        List<String> out = new ArrayList<>();
        try (Journal j = Journal.open(journalFile)) {
            String integrity = j.integrityCheck();
            if (!"ok".equals(integrity)) out.add("integrity: " + integrity);
            Map<String, JobRecord> jobs = new HashMap<>();
            for (JobRecord r : j.list(Filter.all())) jobs.put(r.id(), r);
            for (JobRecord r : jobs.values()) {
                String state = r.state().name();
                if ((state.equals("placed") || state.equals("running")) && (r.host() == null || r.host().isBlank())) {
                    out.add(r.id() + " is " + state + " without a host");
                }
                checkHistory(r, j.events(r.id()), out);
                if (out.size() >= 50) return out;
            }
            for (String id : expectDone) {
                JobRecord r = jobs.get(id);
                if (r == null) {
                    out.add(id + " is not in the journal (lost)");
                } else if (!r.state().name().equals("done") || r.exitCode() == null || r.exitCode() != 0) {
                    out.add(id + " is " + r.state().name() + " (exit " + r.exitCode() + ", " + r.reason() + "), not done with exit 0");
                } else if (j.committedAttempt(id).isPresent() && j.committedAttempt(id).getAsInt() != r.attempts()) {
                    out.add(id + " committed the outputs of attempt " + j.committedAttempt(id).getAsInt() + " but finished attempt " + r.attempts());
                }
                if (out.size() >= 50) return out;
            }
        }
        return out;
    }

    private static void checkHistory(JobRecord r, List<Event> events, List<String> out) {
        if (events.isEmpty() || !events.get(0).kind().equals("submitted")) {
            out.add(r.id() + " history does not start with submitted: " + kinds(events));
            return;
        }
        String state = "queued";
        int terminal = 0;
        int commits = 0;
        long lastSeq = -1;
        for (Event e : events) {
            if (e.seq() <= lastSeq) out.add(r.id() + " events out of order at " + e.seq());
            lastSeq = e.seq();
            String k = e.kind();
            if (k.equals("outputs-committed")) {
                commits++;
                if (!state.equals("running")) out.add(r.id() + " committed outputs while " + state + ": " + kinds(events));
            }
            if (k.equals("refused")) {
                // The host refused the placement as it was about to start it: back to the queue.
                if (!state.equals("placed")) out.add(r.id() + " refused while " + state + ": " + kinds(events));
                state = "queued";
                continue;
            }
            if (!STATE_KINDS.contains(k)) continue;
            if (!Transitions.allowed(state, k)) out.add(r.id() + " went " + state + " -> " + k + ": " + kinds(events));
            state = k;
            if (k.equals("done") || k.equals("failed") || k.equals("cancelled")) terminal++;
        }
        if (terminal > 1) out.add(r.id() + " ended " + terminal + " times: " + kinds(events));
        if (commits > 1) out.add(r.id() + " committed outputs " + commits + " times: " + kinds(events));
        if (!state.equals(r.state().name())) out.add(r.id() + " is " + r.state().name() + " but its history ends " + state);
    }

    private static List<String> kinds(List<Event> events) {
        return events.stream().map(Event::kind).toList();
    }
}
