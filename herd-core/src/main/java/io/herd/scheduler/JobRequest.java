package io.herd.scheduler;

import java.util.Objects;
import java.util.Set;

/**
 * What placement needs to know about one job: its size, its requirements and
 * where it comes from. Built by the home node from the job's options; nothing
 * here is read from the host.
 *
 * @param id          the job's id, unique at its home node
 * @param user        who submitted it; the key for fair share
 * @param cpus        cores the job wants at once, at least 1
 * @param memBytes    memory the job needs; 0 = not given (no memory filter)
 * @param constraint  the {@code --on} expression; {@link Constraint#ALWAYS} when none (null means none)
 * @param needs       programs that must be installed on the host ({@code --needs}); null means none
 * @param inputBytes  bytes staged from the home node to the host before the job starts
 * @param work        estimated work in reference core-seconds: the seconds one core of
 *                    speed 1.0 would need (see {@code gossip.SpeedBenchmark}); 0 or less
 *                    (not known) becomes {@link #DEFAULT_WORK}
 * @param pinnedNode  the only node that may run it ({@code --node}, {@code --local}); null if free
 * @param homeNode    the node it was submitted at; staging to it costs nothing. May be null
 */
public record JobRequest(String id, String user, int cpus, long memBytes, Constraint constraint, Set<String> needs,
                         long inputBytes, double work, String pinnedNode, String homeNode) {

    /** Work assumed when the job does not say: one reference core-second. */
    public static final double DEFAULT_WORK = 1.0;

    public JobRequest {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(user, "user");
        if (cpus < 1) throw new IllegalArgumentException("cpus must be at least 1, got " + cpus);
        if (memBytes < 0) throw new IllegalArgumentException("memBytes must not be negative, got " + memBytes);
        if (inputBytes < 0) throw new IllegalArgumentException("inputBytes must not be negative, got " + inputBytes);
        if (Double.isInfinite(work)) throw new IllegalArgumentException("work must be finite");
        if (!(work > 0)) work = DEFAULT_WORK;
        constraint = constraint == null ? Constraint.ALWAYS : constraint;
        needs = needs == null ? Set.of() : Set.copyOf(needs);
    }

    /** A one-core job with no requirements, no inputs and {@link #DEFAULT_WORK}. */
    public static JobRequest of(String id, String user) {
        return new JobRequest(id, user, 1, 0, Constraint.ALWAYS, Set.of(), 0, DEFAULT_WORK, null, null);
    }

    public JobRequest withCpus(int n) {
        return new JobRequest(id, user, n, memBytes, constraint, needs, inputBytes, work, pinnedNode, homeNode);
    }

    public JobRequest withMem(long bytes) {
        return new JobRequest(id, user, cpus, bytes, constraint, needs, inputBytes, work, pinnedNode, homeNode);
    }

    public JobRequest withConstraint(Constraint c) {
        return new JobRequest(id, user, cpus, memBytes, c, needs, inputBytes, work, pinnedNode, homeNode);
    }

    public JobRequest withNeeds(Set<String> programs) {
        return new JobRequest(id, user, cpus, memBytes, constraint, programs, inputBytes, work, pinnedNode, homeNode);
    }

    public JobRequest withInput(long bytes) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, bytes, work, pinnedNode, homeNode);
    }

    public JobRequest withWork(double coreSeconds) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, coreSeconds, pinnedNode, homeNode);
    }

    public JobRequest pinnedTo(String node) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, node, homeNode);
    }

    public JobRequest from(String home) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, pinnedNode, home);
    }
}
