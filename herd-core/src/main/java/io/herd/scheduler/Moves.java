package io.herd.scheduler;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/**
 * Moving running jobs to where capacity appeared, as MOSIX migrated a process
 * to a node that had become free.
 *
 * <p>When a home node has nothing waiting in its queue and a host has a free
 * slot, one of its jobs still running on a slower or busier host may finish
 * sooner if it starts again on the free one: at the end of an array the last
 * job on a node capped at 0.2 cores takes four times as long as on the 0.8-core
 * node that has just finished its own. A job is moved when its expected
 * seconds on the free host, from the start, are at most {@value #MOVE_MARGIN}
 * of its expected remaining seconds where it is. The host evicts it (saving a
 * checkpoint where the job has one, so the restart is even shorter than
 * assumed) and the home places it again; the eviction does not count against
 * its retries.
 *
 * <p>What keeps this from the "processes hop over the cluster" of openMosix:
 * only the home's own jobs move, only while nothing of the home's waits (a
 * free slot that a queued job could take is not spent on a restart), each job
 * at most once (the caller's rule), only when its remaining time is an
 * estimate within its expected run (the caller passes no job that has run past
 * its estimate: there the remaining time is unknown), with the biggest gain
 * first, and never more moves to a host than it has free slots and CPUs.
 *
 * <p>Pure: no clock, no I/O. Times are in placement's units ({@link Placement}).
 */
public final class Moves {

    /** A job moves only if it would finish there in at most this share of what it has left here. */
    public static final double MOVE_MARGIN = 0.7;

    private Moves() {
    }

    /**
     * A running job of this home that could move.
     *
     * @param remainingSeconds its expected remaining seconds where it runs (&gt; 0)
     */
    public record Running(JobRequest job, String host, double remainingSeconds) {
    }

    /** Restart {@code jobId} on {@code to}: about {@code thereSeconds} there against {@code remainingSeconds} on {@code from}. */
    public record Move(String jobId, String from, String to, double remainingSeconds, double thereSeconds) {
    }

    /** The moves worth making now, biggest remaining time first; empty when nothing is worth moving. */
    public static List<Move> plan(Collection<Running> running, Collection<HostView> hosts) {
        List<Move> out = new ArrayList<>();
        if (running.isEmpty()) return out;
        List<LiveQueue.Capacity> pool = new ArrayList<>(hosts.size());
        for (HostView h : hosts) {
            LiveQueue.Capacity c = new LiveQueue.Capacity(h);
            if (!c.exhausted()) pool.add(c);
        }
        List<Running> order = new ArrayList<>(running);
        order.sort(Comparator.comparingDouble((Running r) -> -r.remainingSeconds()).thenComparing(r -> r.job().id()));
        for (Running r : order) {
            if (pool.isEmpty()) break;
            if (!(r.remainingSeconds() > 0)) continue;
            LiveQueue.Capacity best = null;
            double bestSeconds = 0;
            for (LiveQueue.Capacity c : pool) {
                if (c.view.name().equals(r.host()) || !Feasibility.fits(r.job(), c.view, c.guestCpus)) continue;
                double seconds = Placement.expectedSeconds(r.job(), c.view, c.guestCpus);
                if (best == null || Placement.compare(seconds, c.view.load1(), c.view.name(),
                        bestSeconds, best.view.load1(), best.view.name()) < 0) {
                    best = c;
                    bestSeconds = seconds;
                }
            }
            if (best == null || bestSeconds > MOVE_MARGIN * r.remainingSeconds()) continue;
            best.take(r.job());
            if (best.exhausted()) pool.remove(best);
            out.add(new Move(r.job().id(), r.host(), best.view.name(), r.remainingSeconds(), bestSeconds));
        }
        return out;
    }
}
