package io.herd.scheduler;

/**
 * Whether a job can run, will have to wait, or can never run, with one line
 * for the user saying why.
 */
public record Explanation(Verdict verdict, String message) {

    public enum Verdict {
        /** Some host can run it now. */
        RUNNABLE,
        /** Hosts that could run it are busy (or no host is known yet): it waits in the live queue. */
        WAIT,
        /** No known host could run it whatever their load: refuse the job, say why. */
        NEVER
    }
}
