package io.herd.journal;

import io.herd.journal.JobState.Held;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Running;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The job state machine. Pure: no I/O, no clock; the journal asks it before every change.
 *
 * <pre>
 *   submit
 *     │
 *     ▼
 *   queued ─────▶ placed ─────▶ running ─────▶ done
 *    ▲ │ ▲           │              │
 *    │ │ └───────────┴──────────────┘   host lost, refused or evicted:
 *    │ ▼                                the next placement is the next attempt
 *    held     only once maxRetries + 1 placements are used; release renews them
 *
 *   queued | placed | running ──▶ failed      herd cannot run it, says why
 *   any non-terminal ──────────▶ cancelled
 * </pre>
 */
public final class Transitions {

    private static final Map<String, Set<String>> NEXT = Map.of(
            "queued", Set.of("placed", "held", "failed", "cancelled"),
            "placed", Set.of("running", "queued", "failed", "cancelled"),
            "running", Set.of("done", "failed", "queued", "cancelled"),
            "held", Set.of("queued", "cancelled"),
            "done", Set.of(),
            "failed", Set.of(),
            "cancelled", Set.of());

    /** Every state name, in life order. */
    public static final List<String> STATES =
            List.of("queued", "placed", "running", "done", "failed", "held", "cancelled");

    private Transitions() {
    }

    /** Whether the graph has an edge {@code from → to}, by state name. */
    public static boolean allowed(String from, String to) {
        Set<String> next = NEXT.get(from);
        if (next == null) throw new IllegalArgumentException("unknown job state '" + from + "'");
        if (!NEXT.containsKey(to)) throw new IllegalArgumentException("unknown job state '" + to + "'");
        return next.contains(to);
    }

    /** Non-terminal states: the ones a restarted home node must pick up again. */
    public static List<String> nonTerminal() {
        return List.of("queued", "placed", "running", "held");
    }

    /**
     * Checks that {@code job} may move to {@code to}: the edge exists and the attempt
     * bookkeeping agrees (a placement is attempt {@code attempts + 1}, running continues
     * the placement on the same host, held only when retries are used up, a job with
     * retries used up is not placed again).
     *
     * @throws IllegalStateException naming the job, both states and what to do instead
     */
    public static void check(JobRecord job, JobState to) {
        JobState from = job.state();
        if (!allowed(from.name(), to.name())) {
            throw illegal(job, to, from.terminal()
                    ? "the job is " + from.name() + " and stays so"
                    : "allowed from " + from.name() + ": " + String.join(", ", sorted(NEXT.get(from.name()))));
        }
        if (to instanceof Placed p) {
            if (job.retriesExhausted()) {
                throw illegal(job, to, "it has used its " + job.attemptsInBudget() + " placements (max retries "
                        + job.spec().maxRetries() + "); hold it, then release it to try again");
            }
            if (p.attempt() != job.attempts() + 1) {
                throw illegal(job, to, "the next placement is attempt " + (job.attempts() + 1) + ", not " + p.attempt());
            }
        } else if (to instanceof Running r) {
            Placed p = (Placed) from;
            if (!p.host().equals(r.host()) || p.attempt() != r.attempt()) {
                throw illegal(job, to, "it was placed on " + p.host() + " as attempt " + p.attempt()
                        + ", not on " + r.host() + " as attempt " + r.attempt());
            }
        } else if (to instanceof Held) {
            if (!job.retriesExhausted()) {
                throw illegal(job, to, "it still has retries (" + job.attemptsInBudget() + " of "
                        + (job.spec().maxRetries() + 1) + " placements used); a job is held only when they are used up");
            }
        }
        // queued, done, failed, cancelled: the edge suffices here; the output rules are the journal's
    }

    private static List<String> sorted(Set<String> names) {
        return STATES.stream().filter(names::contains).toList();
    }

    private static IllegalStateException illegal(JobRecord job, JobState to, String why) {
        return new IllegalStateException("job " + job.id() + " cannot go from " + job.state().name()
                + " to " + to.name() + ": " + why);
    }
}
