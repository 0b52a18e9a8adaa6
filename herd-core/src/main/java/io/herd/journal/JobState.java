package io.herd.journal;

import java.util.Objects;

/**
 * Where a job is in its life. Each state carries what is true of the job while in it;
 * {@link Transitions} says which state may follow which.
 */
public sealed interface JobState
        permits JobState.Queued, JobState.Placed, JobState.Running, JobState.Done,
                JobState.Failed, JobState.Held, JobState.Cancelled {

    /** Lower-case name as shown by {@code herd ps} and stored in the {@code state} column. */
    String name();

    /** True for done, failed and cancelled: nothing may follow. */
    default boolean terminal() {
        return false;
    }

    /**
     * Waiting in the home node's live queue.
     *
     * @param reason why it (re)entered the queue: null when just submitted, else e.g.
     *               "host node-b lost", "refused by node-c: no free slot", "released by alice"
     */
    record Queued(String reason) implements JobState {
        public static final Queued SUBMITTED = new Queued(null);
        public String name() { return "queued"; }
    }

    /**
     * Offered to a host, which admitted it; inputs are being staged.
     *
     * @param attempt 1 for the first placement, one more for each later one
     */
    record Placed(String host, int attempt) implements JobState {
        public Placed {
            requireText(host, "host");
            if (attempt < 1) throw new IllegalArgumentException("attempt starts at 1, got " + attempt);
        }
        public String name() { return "placed"; }
    }

    /** Running on {@code host} since {@code startedAtMillis}. */
    record Running(String host, int attempt, long startedAtMillis) implements JobState {
        public Running {
            requireText(host, "host");
            if (attempt < 1) throw new IllegalArgumentException("attempt starts at 1, got " + attempt);
        }
        public String name() { return "running"; }
    }

    /**
     * The program ran and exited; its exit code may be non-zero (128+N after death by signal N).
     * Its outputs, if any were recorded, are committed.
     */
    record Done(int exitCode, String host, long finishedAtMillis) implements JobState {
        public Done { requireText(host, "host"); }
        public String name() { return "done"; }
        @Override public boolean terminal() { return true; }
    }

    /**
     * herd could not run the program to its end: unknown program, missing input, disk full,
     * output collision… {@code exitCode} is -1 when the program never exited.
     */
    record Failed(String reason, int exitCode) implements JobState {
        public Failed { requireText(reason, "reason"); }
        public String name() { return "failed"; }
        @Override public boolean terminal() { return true; }
    }

    /** Out of retries; waits for a user to release it (back to queued) or cancel it. */
    record Held(String reason) implements JobState {
        public Held { requireText(reason, "reason"); }
        public String name() { return "held"; }
    }

    /** Cancelled by {@code by} (a user name, or "admin"/"system"). */
    record Cancelled(String by) implements JobState {
        public Cancelled { requireText(by, "by"); }
        public String name() { return "cancelled"; }
        @Override public boolean terminal() { return true; }
    }

    private static void requireText(String s, String what) {
        if (Objects.requireNonNull(s, what).isBlank()) throw new IllegalArgumentException(what + " must not be blank");
    }
}
