package io.herd.scheduler;

import java.util.Map;
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
 * @param homeOwner   the user owns the home node (root or its daemon's user): there the job is not a
 *                    guest, so the home's own "not accepting guests" does not keep it out
 * @param refusedBy   hosts whose owner's policy refused this job for good (its user, its home, its
 *                    memory...), each with the policy stamp that refused it: placement skips such a
 *                    host until it gossips another stamp. Null means none
 */
public record JobRequest(String id, String user, int cpus, long memBytes, Constraint constraint, Set<String> needs,
                         long inputBytes, double work, String pinnedNode, String homeNode, boolean homeOwner,
                         Map<String, Long> refusedBy) {

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
        refusedBy = refusedBy == null ? Map.of() : Map.copyOf(refusedBy);
    }

    /** A job that is a guest everywhere (not its home owner's) and was refused nowhere. */
    public JobRequest(String id, String user, int cpus, long memBytes, Constraint constraint, Set<String> needs,
                      long inputBytes, double work, String pinnedNode, String homeNode) {
        this(id, user, cpus, memBytes, constraint, needs, inputBytes, work, pinnedNode, homeNode, false, Map.of());
    }

    /** A one-core job with no requirements, no inputs and {@link #DEFAULT_WORK}. */
    public static JobRequest of(String id, String user) {
        return new JobRequest(id, user, 1, 0, Constraint.ALWAYS, Set.of(), 0, DEFAULT_WORK, null, null);
    }

    public JobRequest withCpus(int n) {
        return new JobRequest(id, user, n, memBytes, constraint, needs, inputBytes, work, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest withMem(long bytes) {
        return new JobRequest(id, user, cpus, bytes, constraint, needs, inputBytes, work, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest withConstraint(Constraint c) {
        return new JobRequest(id, user, cpus, memBytes, c, needs, inputBytes, work, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest withNeeds(Set<String> programs) {
        return new JobRequest(id, user, cpus, memBytes, constraint, programs, inputBytes, work, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest withInput(long bytes) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, bytes, work, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest withWork(double coreSeconds) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, coreSeconds, pinnedNode, homeNode, homeOwner, refusedBy);
    }

    public JobRequest pinnedTo(String node) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, node, homeNode, homeOwner, refusedBy);
    }

    /** This job, marked as its home owner's (not a guest at its home). */
    public JobRequest ownedAtHome(boolean owner) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, pinnedNode, homeNode, owner, refusedBy);
    }

    /** This job after {@code host}'s owner's policy, with stamp {@code stamp}, refused it. */
    public JobRequest refusedBy(String host, long stamp) {
        Map<String, Long> next = new java.util.HashMap<>(refusedBy);
        next.put(host, stamp);
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, pinnedNode, homeNode, homeOwner, next);
    }

    /** True when {@code host}'s policy, as it stands, refused this job. */
    public boolean refusedUnder(String host, long stamp) {
        Long s = refusedBy.get(host);
        return s != null && s == stamp;
    }

    public JobRequest from(String home) {
        return new JobRequest(id, user, cpus, memBytes, constraint, needs, inputBytes, work, pinnedNode, home, homeOwner, refusedBy);
    }
}
