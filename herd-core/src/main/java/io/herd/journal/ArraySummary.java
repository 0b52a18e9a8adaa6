package io.herd.journal;

import java.util.Map;

/**
 * Where an array stands: enough for a progress bar and the end-of-run summary.
 *
 * @param size             number of jobs in the array
 * @param byState          job count per state name; states with no job are absent
 * @param retried          jobs that needed more than one placement
 * @param cpuMs            CPU time over all jobs and attempts
 * @param firstSubmittedMs when the array was submitted
 * @param lastFinishedMs   latest finish among its jobs, -1 while none has finished
 */
public record ArraySummary(String arrayId, String user, JobSpec template, int size, Map<String, Integer> byState,
                           int retried, long cpuMs, long firstSubmittedMs, long lastFinishedMs) {

    public ArraySummary {
        byState = Map.copyOf(byState);
    }

    public int count(String state) {
        return byState.getOrDefault(state, 0);
    }

    /** Jobs in a terminal state. */
    public int finished() {
        return count("done") + count("failed") + count("cancelled");
    }

    public boolean complete() {
        return finished() == size;
    }
}
