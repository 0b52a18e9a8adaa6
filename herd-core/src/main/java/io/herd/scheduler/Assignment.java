package io.herd.scheduler;

/**
 * A queued job given to a host by {@link LiveQueue#dispatch}; the home node offers it there next.
 *
 * @param ahead sent ahead to a busy host: it waits there for the next slot to free rather than
 *              start at once (see {@link LiveQueue}, "Sending ahead")
 */
public record Assignment(JobRequest job, String host, double expectedSeconds, boolean ahead) {

    public Assignment(JobRequest job, String host, double expectedSeconds) {
        this(job, host, expectedSeconds, false);
    }
}
