package io.herd.scheduler;

/** A queued job given to a host by {@link LiveQueue#dispatch}; the home node offers it there next. */
public record Assignment(JobRequest job, String host, double expectedSeconds) {
}
