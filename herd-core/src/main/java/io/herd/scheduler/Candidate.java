package io.herd.scheduler;

/**
 * A feasible host and how long the job is expected to take there.
 *
 * @param host            node name
 * @param expectedSeconds expected completion time: {@code transferSeconds + computeSeconds}
 * @param computeSeconds  work / (speed × effective cores)
 * @param transferSeconds input bytes / link speed from the home node; 0 at home
 */
public record Candidate(String host, double expectedSeconds, double computeSeconds, double transferSeconds) {
}
