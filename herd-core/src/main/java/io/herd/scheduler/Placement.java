package io.herd.scheduler;

import io.herd.scheduler.Feasibility.Filter;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where should a job run? Feasible hosts ranked by expected completion time.
 *
 * <h2>Expected completion time</h2>
 * <pre>
 *   expected = transfer + compute
 *   transfer = inputBytes / bytesPerSecondFromHome         (0 at the home node or with no inputs;
 *                                                          an unmeasured link counts as 100 MB/s)
 *   compute  = work / (speed × effective)                  (speed 0 = unmeasured counts as 1.0)
 *
 *   capacity  = guestCpuShare, or cores when there is no share (never more than cores)
 *   guests    = CPUs the host's guests hold (guestJobs from gossip, 1 CPU each,
 *               plus what this dispatch round gave it)
 *   ownerLoad = clamp(load1 − guests, 0, cores)            the load that is not guests': the owner's
 *   forGuests = max(0, min(capacity, cores − ownerLoad))   guests run at the lowest priority
 *   effective = max(0.1, cpus × min(1, forGuests / (guests + cpus)))
 * </pre>
 * That is: guests get only the CPU the owner leaves, up to the guest share,
 * and split it evenly per thread with the guests already there. A slower host,
 * more load, a smaller share, or more guests beside the same owner load can
 * only make {@code expected} larger. The floor of a tenth of a core keeps a saturated host finite and
 * still ordered by speed.
 *
 * <p>Ties (equal expected time) go to the less loaded host, then to the name,
 * so the ranking is a pure function of its inputs.
 */
public final class Placement {

    /** Link speed assumed when none was measured: 100 MB/s. */
    public static final double DEFAULT_BYTES_PER_SECOND = 100e6;
    /** Least CPU a guest is assumed to get, in cores. */
    public static final double MIN_EFFECTIVE_CORES = 0.1;

    private Placement() {
    }

    /** Feasible hosts best first, and the reason for each other host. */
    public static Plan rank(JobRequest job, Collection<HostView> hosts) {
        List<Scored> feasible = new ArrayList<>();
        Map<String, String> rejected = new HashMap<>();
        for (HostView h : hosts) {
            String why = Feasibility.reason(job, h, h.guestJobs());
            if (why == null) feasible.add(new Scored(estimate(job, h, h.guestJobs()), h.load1()));
            else rejected.put(h.name(), why);
        }
        feasible.sort(Scored.ORDER);
        List<Candidate> ranked = new ArrayList<>(feasible.size());
        for (Scored s : feasible) ranked.add(s.candidate);
        return new Plan(ranked, rejected);
    }

    /** The expected completion time on {@code host}, whether or not the host is feasible. */
    public static Candidate estimate(JobRequest job, HostView host) {
        return estimate(job, host, host.guestJobs());
    }

    static Candidate estimate(JobRequest job, HostView h, int guestCpus) {
        double transfer = transferSeconds(job, h);
        double compute = computeSeconds(job, h, guestCpus);
        return new Candidate(h.name(), transfer + compute, compute, transfer);
    }

    /** {@code estimate(...).expectedSeconds()} without the garbage. */
    static double expectedSeconds(JobRequest job, HostView h, int guestCpus) {
        return transferSeconds(job, h) + computeSeconds(job, h, guestCpus);
    }

    private static double transferSeconds(JobRequest job, HostView h) {
        if (job.inputBytes() == 0 || h.name().equals(job.homeNode())) return 0;
        double bw = h.bytesPerSecondFromHome() > 0 ? h.bytesPerSecondFromHome() : DEFAULT_BYTES_PER_SECOND;
        return job.inputBytes() / bw;
    }

    private static double computeSeconds(JobRequest job, HostView h, int guestCpus) {
        double speed = h.speed() > 0 ? h.speed() : 1.0;
        return job.work() / (speed * effectiveCores(job.cpus(), h, guestCpus));
    }

    /** Cores the job can expect on the host; see the class comment. */
    static double effectiveCores(int cpus, HostView h, int guestCpus) {
        double cores = Math.max(0, h.cores());
        double ownerLoad = Math.min(cores, Math.max(0, h.load1() - guestCpus));
        double forGuests = Math.max(0, Math.min(h.guestCpuCapacity(), cores - ownerLoad));
        double demand = Math.max(0, guestCpus) + cpus;
        return Math.max(MIN_EFFECTIVE_CORES, cpus * Math.min(1.0, forGuests / demand));
    }

    /** A candidate with what breaks its ties. */
    private record Scored(Candidate candidate, double load) {
        static final Comparator<Scored> ORDER = (a, b) -> compare(a.candidate.expectedSeconds(), a.load,
                a.candidate.host(), b.candidate.expectedSeconds(), b.load, b.candidate.host());
    }

    /** The ranking order: expected time, then load, then name. Negative if the first host ranks first. */
    static int compare(double seconds1, double load1, String name1, double seconds2, double load2, String name2) {
        int c = Double.compare(seconds1, seconds2);
        if (c == 0) c = Double.compare(load1, load2);
        return c != 0 ? c : name1.compareTo(name2);
    }

    // --- explaining -----------------------------------------------------------

    /**
     * One line for the user about a job: runnable now, waiting because every
     * host that could run it is busy, or never runnable on any known host
     * (and why: the largest node's memory, a program missing everywhere, a
     * constraint no node meets).
     */
    public static Explanation explainUnsatisfiable(JobRequest job, Collection<HostView> hosts) {
        if (job.pinnedNode() != null) return explainPinned(job, hosts);
        if (hosts.isEmpty()) {
            return new Explanation(Explanation.Verdict.WAIT, "no nodes are known yet; the job waits in the queue");
        }
        List<HostView> suitable = new ArrayList<>();
        for (HostView h : hosts) if (Feasibility.neverReason(job, h) == null) suitable.add(h);
        if (suitable.isEmpty()) return new Explanation(Explanation.Verdict.NEVER, "no node can ever run this: " + never(job, hosts));

        Plan plan = rank(job, suitable);
        if (plan.best().isPresent()) return runnable(plan, hosts.size());
        suitable.sort(Comparator.comparing(HostView::name));
        if (suitable.size() == 1) {
            HostView only = suitable.get(0);
            return new Explanation(Explanation.Verdict.WAIT, "the only node that can run this, " + only.name()
                    + ", is busy (" + Feasibility.reason(job, only, only.guestJobs()) + "); the job waits in the queue");
        }
        Map<Filter, Integer> busy = new EnumMap<>(Filter.class);
        for (HostView h : suitable) busy.merge(Feasibility.failing(job, h, h.guestJobs()), 1, Integer::sum);
        List<String> parts = new ArrayList<>();
        busy.forEach((f, n) -> parts.add(n + " " + busyPhrase(f)));
        return new Explanation(Explanation.Verdict.WAIT, "all " + suitable.size() + " nodes that can run this are busy ("
                + String.join(", ", parts) + "); the job waits in the queue");
    }

    private static Explanation explainPinned(JobRequest job, Collection<HostView> hosts) {
        String pin = job.pinnedNode();
        HostView h = hosts.stream().filter(x -> x.name().equals(pin)).findFirst().orElse(null);
        if (h == null) {
            return new Explanation(Explanation.Verdict.NEVER, "no node named " + pin + " in the cluster; see herd nodes");
        }
        String never = Feasibility.neverReason(job, h);
        if (never != null) {
            return new Explanation(Explanation.Verdict.NEVER, "node " + pin + " can never run this: " + never);
        }
        String now = Feasibility.reason(job, h, h.guestJobs());
        if (now != null) {
            return new Explanation(Explanation.Verdict.WAIT, "node " + pin + " is busy (" + now + "); the job waits in the queue");
        }
        return runnable(rank(job, List.of(h)), hosts.size());
    }

    private static Explanation runnable(Plan plan, int known) {
        Candidate best = plan.best().orElseThrow();
        return new Explanation(Explanation.Verdict.RUNNABLE, "can run now on " + plan.ranked().size() + " of " + known
                + " node" + (known == 1 ? "" : "s") + "; best is " + best.host()
                + " (about " + Units.decimal(best.expectedSeconds()) + " s)");
    }

    private static String busyPhrase(Filter f) {
        return switch (f) {
            case STATE -> "not alive now";
            case GUESTS -> "not taking guests now";
            case POLICY -> "refusing it by their owner's policy";
            case SLOTS -> "with no free guest slot";
            case CPUS -> "short of free guest CPUs";
            case MEM -> "short of free memory";
            case CONSTRAINT -> "failing the constraint now";
            default -> "busy"; // pinned and needs never change by waiting
        };
    }

    /** Why no host can ever run it: one requirement that no host meets, else each host's first reason. */
    private static String never(JobRequest job, Collection<HostView> hosts) {
        for (Filter f : Filter.ALL) {
            boolean all = true;
            for (HostView h : hosts) {
                if (f.never(job, h) == null) {
                    all = false;
                    break;
                }
            }
            if (all) {
                String why = everywhere(f, job, hosts);
                if (why != null) return why;
            }
        }
        List<HostView> sorted = new ArrayList<>(hosts);
        sorted.sort(Comparator.comparing(HostView::name));
        List<String> parts = new ArrayList<>();
        for (HostView h : sorted.subList(0, Math.min(3, sorted.size()))) {
            parts.add(h.name() + ": " + Feasibility.neverReason(job, h));
        }
        if (sorted.size() > 3) parts.add("and " + (sorted.size() - 3) + " more");
        return String.join("; ", parts);
    }

    /** The message when requirement {@code f} fails on every host, or null to fall back to per-host reasons. */
    private static String everywhere(Filter f, JobRequest job, Collection<HostView> hosts) {
        switch (f) {
            case STATE:
                return "every node is leaving or has left";
            case SLOTS:
                return "no node takes guests (every node has 0 guest slots)";
            case CPUS: {
                int maxCores = hosts.stream().mapToInt(HostView::cores).max().orElse(0);
                if (job.cpus() > maxCores) {
                    return "it needs " + job.cpus() + " CPUs but the largest node has " + maxCores
                            + " core" + (maxCores == 1 ? "" : "s") + "; ask for fewer with --cpus";
                }
                int maxLimit = hosts.stream().mapToInt(HostView::guestCpuLimit).max().orElse(0);
                return "it needs " + job.cpus() + " CPUs but guests may use at most " + maxLimit
                        + " on any node; ask for fewer with --cpus";
            }
            case MEM: {
                HostView largest = hosts.stream().max(Comparator.comparingLong((HostView h) -> h.memTotalBytes() - h.memReserveBytes())
                        .thenComparing(HostView::name, Comparator.reverseOrder())).orElseThrow();
                long total = largest.memTotalBytes();
                String msg = "it needs " + Units.size(job.memBytes()) + " of memory but the largest node, "
                        + largest.name() + ", has " + Units.size(total) + " in total";
                if (job.memBytes() <= total) msg += " and keeps " + Units.size(largest.memReserveBytes()) + " in reserve";
                return msg + "; ask for less with --mem";
            }
            case NEEDS: {
                Set<String> nowhere = new TreeSet<>(job.needs());
                for (HostView h : hosts) nowhere.removeAll(h.programs());
                if (nowhere.isEmpty()) {
                    return "no node has all of " + String.join(", ", new TreeSet<>(job.needs())) + " installed";
                }
                return String.join(", ", nowhere) + (nowhere.size() == 1 ? " is" : " are")
                        + " not installed on any node";
            }
            case CONSTRAINT: {
                Set<String> missing = job.constraint().missingLabels(hosts);
                String msg = "--on '" + job.constraint() + "' matches no node";
                if (!missing.isEmpty()) {
                    msg += " (no node has label" + (missing.size() == 1 ? " " : "s ") + String.join(", ", missing) + ")";
                }
                return msg + "; compare it with herd nodes";
            }
            default:
                return null;
        }
    }
}
