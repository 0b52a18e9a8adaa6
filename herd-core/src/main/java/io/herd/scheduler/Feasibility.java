package io.herd.scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Can this host run this job now? A chain of named filters, checked in order;
 * the first that fails gives the reason, a short line for the user prefixed
 * with the filter's name, e.g. {@code mem: needs 8.0G, has 3.2G free}.
 *
 * <ol>
 * <li><b>state</b>: the node is alive (suspect and dead nodes may come back;
 *     leaving and left ones will not)</li>
 * <li><b>pinned</b>: the job names no node ({@code --node}), or names this one</li>
 * <li><b>guests</b>: the node takes guests now (its owner has not locked it and its
 *     {@code accept} rule holds: idle long enough, inside the windows, not never), or
 *     the job is its home owner's own job at home, which is no guest there. Waiting
 *     can fix it: the owner unlocks, goes idle, a window opens.</li>
 * <li><b>policy</b>: the node's owner's policy has not refused this very job (its
 *     user, its home node, its memory) under the policy stamp it gossips now; a
 *     changed policy gets a new stamp and the job may be offered there again.</li>
 * <li><b>slots</b>: a guest slot is free: guestJobs &lt; guestSlots</li>
 * <li><b>cpus</b>: cpus ≤ cores; cpus ≤ the guest CPU limit (the guest CPU share
 *     rounded up, so half a core still runs a one-CPU job); and the guests'
 *     CPUs plus this job's stay within that limit. The load vector counts
 *     guests, not their CPUs, so each running guest is taken as one CPU; the
 *     host re-checks every offer with exact numbers.</li>
 * <li><b>mem</b> (only when the job gives its memory): memBytes ≤ free memory
 *     − reserve, where the reserve, kept for the owner and the system, is what
 *     the node's owner keeps ({@code owner-mem-reserve}, gossiped), but at least
 *     {@link #reserveBytes 5% of physical memory and 256 MiB}</li>
 * <li><b>needs</b>: every program in {@code --needs} is installed</li>
 * <li><b>constraint</b>: the {@code --on} expression holds</li>
 * </ol>
 *
 * Each filter also knows whether its failure is for good: a full node frees
 * up, a 23.5G node never grows to 64G. {@link Placement#explainUnsatisfiable}
 * uses that to tell "wait in the queue" from "cannot ever run".
 */
public final class Feasibility {

    /** Memory always left to the owner and the system, at least. */
    public static final long MIN_RESERVE_BYTES = 256L << 20;
    /** Share of physical memory left to the owner and the system, when larger than {@link #MIN_RESERVE_BYTES}. */
    public static final double RESERVE_FRACTION = 0.05;

    private Feasibility() {
    }

    /** The filters' names, in the order they are checked; each reason starts with one. */
    public static List<String> filters() {
        List<String> names = new ArrayList<>();
        for (Filter f : Filter.values()) names.add(f.label);
        return names;
    }

    /** Memory a guest may never take on a host with this much physical memory. */
    public static long reserveBytes(long memTotalBytes) {
        return Math.max(MIN_RESERVE_BYTES, (long) (memTotalBytes * RESERVE_FRACTION));
    }

    /** Empty if {@code host} can run {@code job} now, else why not. */
    public static Optional<String> check(JobRequest job, HostView host) {
        return Optional.ofNullable(reason(job, host, host.guestJobs()));
    }

    /** Why the host can never run the job (whatever its load, free memory and slots), or null if it might. */
    static String neverReason(JobRequest job, HostView host) {
        Filter f = neverFilter(job, host);
        return f == null ? null : f.never(job, host);
    }

    static Filter neverFilter(JobRequest job, HostView host) {
        for (Filter f : Filter.ALL) if (f.never(job, host) != null) return f;
        return null;
    }

    /**
     * Why not now, or null if it can.
     *
     * @param guestCpus CPUs the host's guests hold: its guestJobs from gossip, plus
     *                  what a dispatch round has already given it
     */
    static String reason(JobRequest job, HostView host, int guestCpus) {
        Filter f = failing(job, host, guestCpus);
        return f == null ? null : f.now(job, host, guestCpus);
    }

    static Filter failing(JobRequest job, HostView host, int guestCpus) {
        for (Filter f : Filter.ALL) if (!f.passes(job, host, guestCpus)) return f;
        return null;
    }

    /**
     * True if the host can run the job now: {@link #reason} is null. The filters' {@code passes} spelt out
     * in one method, as dispatch calls it jobs × hosts times; a property test holds the two together.
     */
    static boolean fits(JobRequest job, HostView h, int guestCpus) {
        int cpus = job.cpus();
        int limit;
        return "alive".equals(h.state())
                && (job.pinnedNode() == null || job.pinnedNode().equals(h.name()))
                && (h.acceptsGuests() || job.homeOwner() && h.name().equals(job.homeNode()))
                && (job.refusedBy().isEmpty() || !job.refusedUnder(h.name(), h.policyStamp()))
                && h.guestJobs() < h.guestSlots()
                && cpus <= h.cores() && cpus <= (limit = h.guestCpuLimit()) && guestCpus + cpus <= limit
                && (job.memBytes() == 0 || job.memBytes() <= h.memFreeBytes() - h.memReserveBytes())
                && (job.needs().isEmpty() || h.programs().containsAll(job.needs()))
                && job.constraint().test(h);
    }

    /**
     * One feasibility filter: {@code passes} now or not, {@code why} not (called only when it does not
     * pass), {@code never} why not ever, or null if it might.
     */
    enum Filter {
        STATE("state") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return "alive".equals(h.state());
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                return "state: node is " + h.state();
            }

            @Override String never(JobRequest job, HostView h) {
                return switch (h.state()) {
                    case "leaving" -> "state: node is leaving the cluster";
                    case "left" -> "state: node has left the cluster";
                    default -> null;
                };
            }
        },
        PINNED("pinned") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return job.pinnedNode() == null || job.pinnedNode().equals(h.name());
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                return "pinned: job runs only on " + job.pinnedNode();
            }

            @Override String never(JobRequest job, HostView h) {
                return passes(job, h, 0) ? null : why(job, h, 0);
            }
        },
        GUESTS("guests") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return h.acceptsGuests() || job.homeOwner() && h.name().equals(job.homeNode());
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                return "guests: node takes none now: " + h.closedToGuests();
            }

            @Override String never(JobRequest job, HostView h) {
                return null; // the owner may unlock, go idle, or open a window
            }
        },
        POLICY("policy") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return !job.refusedUnder(h.name(), h.policyStamp());
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                return "policy: its owner's policy refused this job";
            }

            @Override String never(JobRequest job, HostView h) {
                return null; // the owner may change the policy
            }
        },
        SLOTS("slots") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return h.guestJobs() < h.guestSlots();
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                String never = never(job, h);
                return never != null ? never
                        : "slots: all " + h.guestSlots() + " guest slot" + (h.guestSlots() == 1 ? "" : "s") + " busy";
            }

            @Override String never(JobRequest job, HostView h) {
                return h.guestSlots() > 0 ? null : "slots: node takes no guests";
            }
        },
        CPUS("cpus") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                int limit = h.guestCpuLimit();
                return job.cpus() <= h.cores() && job.cpus() <= limit && guestCpus + job.cpus() <= limit;
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                String never = never(job, h);
                if (never != null) return never;
                int limit = h.guestCpuLimit();
                return "cpus: needs " + job.cpus() + ", " + Math.max(0, limit - guestCpus) + " of " + limit
                        + " guest CPU" + (limit == 1 ? "" : "s") + " free";
            }

            @Override String never(JobRequest job, HostView h) {
                if (job.cpus() > h.cores()) {
                    return "cpus: needs " + job.cpus() + ", node has " + h.cores() + " core" + (h.cores() == 1 ? "" : "s");
                }
                if (job.cpus() > h.guestCpuLimit()) {
                    return "cpus: needs " + job.cpus() + ", guests may use " + Units.decimal(h.guestCpuCapacity())
                            + " of its " + h.cores() + " cores";
                }
                return null;
            }
        },
        MEM("mem") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return job.memBytes() == 0 || job.memBytes() <= h.memFreeBytes() - h.memReserveBytes();
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                long need = job.memBytes();
                String msg = "mem: needs " + Units.size(need) + ", has " + Units.size(Math.max(0, h.memFreeBytes())) + " free";
                return need > h.memFreeBytes() ? msg
                        : msg + " and keeps " + Units.size(h.memReserveBytes()) + " in reserve";
            }

            @Override String never(JobRequest job, HostView h) {
                long need = job.memBytes();
                long reserve = h.memReserveBytes();
                if (need == 0 || need <= h.memTotalBytes() - reserve) return null;
                String msg = "mem: needs " + Units.size(need) + ", node has " + Units.size(h.memTotalBytes()) + " in total";
                return need > h.memTotalBytes() ? msg : msg + " and keeps " + Units.size(reserve) + " in reserve";
            }
        },
        NEEDS("needs") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return job.needs().isEmpty() || h.programs().containsAll(job.needs());
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                TreeSet<String> missing = new TreeSet<>(job.needs());
                missing.removeAll(h.programs());
                return "needs: " + String.join(", ", missing) + " not installed";
            }

            @Override String never(JobRequest job, HostView h) {
                return passes(job, h, 0) ? null : why(job, h, 0);
            }
        },
        CONSTRAINT("constraint") {
            @Override boolean passes(JobRequest job, HostView h, int guestCpus) {
                return job.constraint().test(h);
            }

            @Override String why(JobRequest job, HostView h, int guestCpus) {
                return "constraint: " + job.constraint().whyFalse(h);
            }

            @Override String never(JobRequest job, HostView h) {
                return job.constraint().possible(h) ? null : "constraint: " + job.constraint().whyFalse(h);
            }
        };

        static final Filter[] ALL = values();

        final String label;

        Filter(String label) {
            this.label = label;
        }

        abstract boolean passes(JobRequest job, HostView h, int guestCpus);

        abstract String why(JobRequest job, HostView h, int guestCpus);

        abstract String never(JobRequest job, HostView h);

        final String now(JobRequest job, HostView h, int guestCpus) {
            return passes(job, h, guestCpus) ? null : why(job, h, guestCpus);
        }
    }
}
