package io.herd.journal;

/**
 * One row of the {@code jobs} table, parsed. A snapshot: it does not change when the journal does.
 *
 * @param id                id {@code <homeNode>.<seq>}
 * @param seq               the number in the id; grows across restarts, newest is highest
 * @param state             current state
 * @param host              where the job is placed or running, or where it finished; null while queued
 * @param attempts          placements made so far (the attempt number of the latest one)
 * @param attemptsAtRelease attempts that do not count against the retry budget: those made before the last
 *                          release from held, and evictions ({@link Journal#forgiveAttempt})
 * @param evictions         placements that ended through no fault of the job (moved, evicted, sent home)
 * @param exitCode          the program's exit code once done or failed, else null
 * @param reason            why it is queued again, failed, held or who cancelled it, else null
 * @param startedMs         when the latest attempt started running, else null
 * @param finishedMs        when it reached a terminal state, else null
 * @param cpuMs             CPU time used over all attempts, as reported by hosts
 * @param arrayId           the array it belongs to, or null
 * @param arrayIndex        its 0-based position in the array, or -1
 */
public record JobRecord(String id, long seq, String user, JobSpec spec, JobState state, String host,
                        int attempts, int attemptsAtRelease, int evictions, Integer exitCode, String reason,
                        long submittedMs, Long startedMs, Long finishedMs, long cpuMs,
                        String arrayId, int arrayIndex) {

    /** Placements made since the last release (or since submission). */
    public int attemptsInBudget() {
        return attempts - attemptsAtRelease;
    }

    /** True when every allowed placement has been used: the job may only be held, failed or cancelled. */
    public boolean retriesExhausted() {
        return attemptsInBudget() > spec.maxRetries();
    }

    /**
     * True when it was placed again after a failure of its own attempt or its host (lost, failed
     * start): a job that was only moved or evicted was not retried.
     */
    public boolean retried() {
        return attempts - evictions > 1;
    }
}
