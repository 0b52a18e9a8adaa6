package io.herd.scheduler;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeSet;

/**
 * Jobs waiting at their home node for capacity.
 *
 * <h2>Order</h2>
 * Users take turns by fair-share priority; each user's jobs go first in,
 * first out (submission time, then arrival). Walking the queue charges each
 * job's estimated {@code work} to a scratch copy of its user's usage, so
 * priorities move as the walk goes: a user with no recent usage goes first
 * until they have caught up, then users alternate. Nothing is charged to the
 * real {@link FairShare}; the daemon charges CPU actually used.
 *
 * <h2>Dispatch</h2>
 * {@link #dispatch} walks that order and gives each job its best feasible
 * host ({@link Placement}), taking a guest slot, the job's CPUs and memory
 * from a scratch copy of the host's view, so one round never gives a host
 * more than its free slots, guest CPUs or memory. Jobs given a host leave
 * the queue (the caller {@link #add}s one back with its original submission
 * time if the host refuses it); the rest stay. A job that fits nowhere does
 * not block later ones (backfill), but a user's jobs that do go out, go out
 * in order. Cost: at most jobs × hosts feasibility checks (no strings
 * built), a host leaves the round once it has no free slot or guest CPU,
 * and the walk stops when no host is left.
 *
 * <h2>Waiting for a faster host (earliest finish)</h2>
 * A free slot is not always the soonest finish. Given when this home's own
 * jobs on each busy host are expected to end ({@code busyUntil}), a job whose
 * best free host would take {@code E} seconds waits instead when a busy host
 * would finish it sooner, counting the wait: {@code release + compute there <
 * E × } {@value #HOLD_MARGIN}. The released slot is then reserved for it at
 * that finish time, so the next job sees the next release (list scheduling
 * by earliest finish time). With a long queue the free hosts win (every busy
 * slot is reserved far ahead); at the end of an array its last jobs go to the
 * fast nodes rather than starting late on a slow one: 40 equal jobs over
 * nodes of 0.8, 0.6, 0.4 and 0.2 cores end in 28 s, not 28 s plus one job on
 * the slowest node. The home re-dispatches when its jobs end, so a held job
 * is looked at again as soon as the slot it waits for frees.
 *
 * <h2>Sending ahead</h2>
 * Waiting at home for a slot costs the slot a round trip: the job before must end, its end reach
 * the home, and the next start reach the host. For short jobs that idle time is as long as the
 * jobs (an array of {@code true} kept slots 56 % busy). So a job held for a busy host may instead
 * be sent there ahead, to wait on the host and start the moment that slot frees, when the caller
 * allows it for that host ({@code ahead}: how many more jobs it may be sent ahead; the home allows
 * it only where its jobs run briefly, so a job sent ahead is committed to a host for no more than
 * about one short run). It is the same earliest-finish choice, taken one round trip early; a job
 * with inputs to send is never sent ahead (its files would go to the host before its slot is sure).
 *
 * <p>Pure and single-threaded: no clock (time is passed in), no I/O.
 */
public final class LiveQueue {

    private record Entry(JobRequest job, long submittedAt, long seq) {
    }

    private static final Comparator<Entry> FIFO =
            Comparator.comparingLong(Entry::submittedAt).thenComparingLong(Entry::seq);

    private final Map<String, Entry> byId = new HashMap<>();
    private final Map<String, TreeSet<Entry>> byUser = new HashMap<>();
    private long seq;

    /** Queues a job. @throws IllegalArgumentException if a job with that id is queued */
    public void add(JobRequest job, long submittedAtMillis) {
        if (byId.containsKey(job.id())) throw new IllegalArgumentException("job " + job.id() + " is already queued");
        Entry e = new Entry(job, submittedAtMillis, seq++);
        byId.put(job.id(), e);
        byUser.computeIfAbsent(job.user(), u -> new TreeSet<>(FIFO)).add(e);
    }

    /** Takes a job out; false if it was not queued. */
    public boolean remove(String id) {
        Entry e = byId.remove(id);
        if (e == null) return false;
        TreeSet<Entry> mine = byUser.get(e.job.user());
        mine.remove(e);
        if (mine.isEmpty()) byUser.remove(e.job.user());
        return true;
    }

    public boolean contains(String id) {
        return byId.containsKey(id);
    }

    public int size() {
        return byId.size();
    }

    public boolean isEmpty() {
        return byId.isEmpty();
    }

    /** Every queued job in the order dispatch would consider them if all fitted. */
    public List<JobRequest> order(FairShare fairShare, long nowMillis) {
        List<JobRequest> out = new ArrayList<>(byId.size());
        walk(fairShare, nowMillis, e -> {
            out.add(e.job);
            return Turn.TAKEN;
        });
        return out;
    }

    /**
     * Gives queued jobs to hosts, best host first, never more than a host can
     * take; returns the assignments in dispatch order and removes those jobs.
     */
    public List<Assignment> dispatch(Collection<HostView> hosts, FairShare fairShare, long nowMillis) {
        return dispatch(hosts, fairShare, nowMillis, Map.of());
    }

    /** A held job must finish this much sooner on the busy host than on the best free one. */
    static final double HOLD_MARGIN = 0.9;

    /**
     * A running job's entry in {@code busyUntil}: what placement expected less what has run since;
     * a job past its estimate is taken to need a quarter of what it has run so far again.
     *
     * @param expectedSeconds placement's estimate when the job was placed
     * @param elapsedSeconds  time since, in the same units
     */
    public static double secondsUntilEnd(double expectedSeconds, double elapsedSeconds) {
        return Math.max(expectedSeconds - elapsedSeconds, 0.25 * elapsedSeconds);
    }

    /**
     * One host's entry in {@code busyUntil} when some of this home's jobs there were sent ahead and
     * wait for a slot: each such job takes the slot of the soonest running job to end and frees it
     * again at its own end, so it replaces that end rather than adding a slot to the host. A job
     * waiting for a slot of another home's job just adds its end.
     *
     * @param running seconds until each running job is expected to end
     * @param waiting seconds until each job waiting there is expected to end (its wait included)
     * @return the host's slot releases, soonest first
     */
    public static double[] slotReleases(double[] running, double[] waiting) {
        double[] ends = running.clone();
        java.util.Arrays.sort(ends);
        int replaced = Math.min(waiting.length, ends.length);
        double[] out = new double[ends.length - replaced + waiting.length];
        System.arraycopy(ends, replaced, out, 0, ends.length - replaced);
        System.arraycopy(waiting, 0, out, ends.length - replaced, waiting.length);
        java.util.Arrays.sort(out);
        return out;
    }

    /**
     * As {@link #dispatch(Collection, FairShare, long)}, holding a job back for a busy host that would
     * finish it sooner than any free one (see the class comment).
     *
     * @param busyUntil for hosts running this home's jobs: seconds until each of them is expected to
     *                  end (one entry per job, each ≥ 0); hosts not in it are never waited for
     */
    public List<Assignment> dispatch(Collection<HostView> hosts, FairShare fairShare, long nowMillis,
                                     Map<String, double[]> busyUntil) {
        return dispatch(hosts, fairShare, nowMillis, busyUntil, Map.of());
    }

    /**
     * As {@link #dispatch(Collection, FairShare, long, Map)}, sending a held job ahead to the busy
     * host it waits for where {@code ahead} allows (see the class comment).
     *
     * @param ahead for busy hosts that may be sent jobs ahead: how many more (absent or ≤ 0: none)
     */
    public List<Assignment> dispatch(Collection<HostView> hosts, FairShare fairShare, long nowMillis,
                                     Map<String, double[]> busyUntil, Map<String, Integer> ahead) {
        List<Assignment> out = new ArrayList<>();
        if (byId.isEmpty()) return out;
        List<Capacity> pool = new ArrayList<>(hosts.size());
        List<Release> busy = new ArrayList<>();
        for (HostView h : hosts) {
            Capacity c = new Capacity(h);
            if (!c.exhausted()) pool.add(c);
            double[] until = busyUntil.get(h.name());
            if (until != null && until.length > 0 && "alive".equals(h.state()) && h.guestJobs() > 0) {
                busy.add(new Release(h, until, Math.max(0, ahead.getOrDefault(h.name(), 0))));
            }
        }
        int[] aheadLeft = {busy.stream().mapToInt(r -> r.ahead).sum()};
        walk(fairShare, nowMillis, e -> {
            if (pool.isEmpty() && aheadLeft[0] == 0) return Turn.STOP;
            Capacity best = null;
            double bestSeconds = 0;
            for (Capacity c : pool) {
                if (!Feasibility.fits(e.job, c.view, c.guestCpus)) continue;
                double seconds = Placement.expectedSeconds(e.job, c.view, c.guestCpus);
                if (best == null || Placement.compare(seconds, c.view.load1(), c.view.name(),
                        bestSeconds, best.view.load1(), best.view.name()) < 0) {
                    best = c;
                    bestSeconds = seconds;
                }
            }
            Release wait = null;
            double waitSeconds = Double.MAX_VALUE;
            for (Release r : busy) {
                double seconds = r.finish(e.job);
                if (seconds < waitSeconds) {
                    wait = r;
                    waitSeconds = seconds;
                }
            }
            if (wait != null && (best == null || waitSeconds < bestSeconds * HOLD_MARGIN)) {
                wait.reserve(waitSeconds);
                if (wait.ahead == 0 || e.job.inputBytes() > 0) return Turn.SKIPPED;
                wait.ahead--;
                aheadLeft[0]--;
                out.add(new Assignment(e.job, wait.freed.name(), waitSeconds, true));
                return Turn.TAKEN;
            }
            if (best == null) return Turn.SKIPPED;
            best.take(e.job);
            if (best.exhausted()) pool.remove(best);
            out.add(new Assignment(e.job, best.view.name(), bestSeconds));
            return Turn.TAKEN;
        });
        for (Assignment a : out) remove(a.job().id());
        return out;
    }

    /**
     * A busy host's slots as they free: when each of this home's jobs there ends, soonest first;
     * a slot reserved for a held job frees again when that job would end.
     */
    private static final class Release {
        final HostView freed;
        final java.util.PriorityQueue<Double> at = new java.util.PriorityQueue<>();
        /** How many more jobs it may be sent ahead this round. */
        int ahead;

        Release(HostView h, double[] until, int ahead) {
            this.freed = h.withGuestJobs(h.guestJobs() - 1);
            this.ahead = ahead;
            for (double u : until) at.add(Math.max(0, u));
        }

        /** When the job would finish here, waiting for the next slot; MAX_VALUE if it could not run here. */
        double finish(JobRequest job) {
            if (at.isEmpty() || !Feasibility.fits(job, freed, freed.guestJobs())) return Double.MAX_VALUE;
            return at.peek() + Placement.expectedSeconds(job, freed, freed.guestJobs());
        }

        void reserve(double finish) {
            at.poll();
            at.add(finish);
        }
    }

    /** A host's view with what this round has already given it (also {@link Moves}'s). */
    static final class Capacity {
        HostView view;
        int guestCpus;

        Capacity(HostView view) {
            this.view = view;
            this.guestCpus = view.guestJobs();
        }

        void take(JobRequest job) {
            view = view.plusGuest(job.cpus(), job.memBytes());
            guestCpus += job.cpus();
        }

        /** No job at all can pass the state, slots or CPU filter here any more this round. */
        boolean exhausted() {
            return !"alive".equals(view.state()) || view.freeSlots() == 0 || guestCpus >= view.guestCpuLimit();
        }
    }

    private enum Turn { TAKEN, SKIPPED, STOP }

    private interface Step {
        /** Handles one job: taken (charged to its user), skipped (it stays), or stop the walk. */
        Turn take(Entry e);
    }

    /** One user's place in the walk: their next job and their scratch usage. */
    private static final class Cursor {
        final Iterator<Entry> rest;
        final double shares;
        Entry head;
        double usage;
        double priority;

        Cursor(Iterator<Entry> rest, double usage, double shares) {
            this.rest = rest;
            this.usage = usage;
            this.shares = shares;
            this.head = rest.next();
            this.priority = FairShare.priority(usage, shares);
        }
    }

    private static final Comparator<Cursor> TURN = Comparator
            .comparingDouble((Cursor c) -> -c.priority)
            .thenComparingLong(c -> c.head.submittedAt)
            .thenComparingLong(c -> c.head.seq);

    /** Visits jobs in fair-share order, charging each taken job's work to its user's scratch usage. */
    private void walk(FairShare fairShare, long nowMillis, Step step) {
        PriorityQueue<Cursor> turns = new PriorityQueue<>(Math.max(1, byUser.size()), TURN);
        byUser.forEach((user, jobs) -> turns.add(
                new Cursor(jobs.iterator(), fairShare.usage(user, nowMillis), fairShare.shares(user))));
        while (!turns.isEmpty()) {
            Cursor c = turns.poll();
            Entry e = c.head;
            Turn turn = step.take(e);
            if (turn == Turn.STOP) return;
            if (turn == Turn.TAKEN) {
                c.usage += e.job.work();
                c.priority = FairShare.priority(c.usage, c.shares);
            }
            if (!c.rest.hasNext()) continue;
            c.head = c.rest.next();
            turns.add(c);
        }
    }
}
