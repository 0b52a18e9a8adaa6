package io.herd.scheduler;

import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One host as the placing node sees it: the gossiped load vector joined with
 * membership state, the node's labels and programs, and the link measured from
 * the job's home. A snapshot; placement never reads the host itself.
 *
 * @param name                   node name, unique in the cluster
 * @param state                  {@code alive}, {@code suspect}, {@code dead}, {@code leaving} or {@code left}
 * @param cores                  logical cores
 * @param speed                  work units per second per core (gossip's calibrated speed; 0 = unknown → 1.0)
 * @param load1                  one-minute load average, owner and guests together
 * @param cpuPercent             CPU busy, 0..100 over all cores
 * @param memFreeBytes           memory available now
 * @param memTotalBytes          physical memory
 * @param guestSlots             guest jobs the node accepts at once (owner policy)
 * @param guestJobs              guest jobs running there now
 * @param labels                 admin labels ({@code herd label add}); a label without a value maps to ""
 * @param programs               programs installed there, as {@code --needs} names them
 * @param bytesPerSecondFromHome measured link from the job's home; 0 = unknown, assume
 *                               {@link Placement#DEFAULT_BYTES_PER_SECOND}
 * @param guestCpuShare          cap on the CPU all guests together may use, in cores
 *                               ({@code herd policy set guest-cpus}); 0 = no cap (all cores)
 * @param closedToGuests         "" when the node takes guests now; else why not, as it gossips it
 *                               (its owner locked it, is active, is outside the accept windows, never)
 * @param policyStamp            the node's policy stamp: changes whenever its owner's policy does
 */
public record HostView(String name, String state, int cores, double speed, double load1, double cpuPercent,
                       long memFreeBytes, long memTotalBytes, int guestSlots, int guestJobs,
                       Map<String, String> labels, Set<String> programs, double bytesPerSecondFromHome,
                       double guestCpuShare, String closedToGuests, long policyStamp, long ownerMemReserveBytes) {

    public HostView {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(state, "state");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        programs = programs == null ? Set.of() : Set.copyOf(programs);
        closedToGuests = closedToGuests == null ? "" : closedToGuests;
    }

    /** A host that takes guests, policy stamp unknown. */
    public HostView(String name, String state, int cores, double speed, double load1, double cpuPercent,
                    long memFreeBytes, long memTotalBytes, int guestSlots, int guestJobs,
                    Map<String, String> labels, Set<String> programs, double bytesPerSecondFromHome,
                    double guestCpuShare) {
        this(name, state, cores, speed, load1, cpuPercent, memFreeBytes, memTotalBytes, guestSlots, guestJobs, labels,
                programs, bytesPerSecondFromHome, guestCpuShare, "", 0, 0);
    }

    /** True when the node takes guests now (its owner's lock and accept rule). */
    public boolean acceptsGuests() {
        return closedToGuests.isEmpty();
    }

    /** This view with the owner's policy: why it takes no guests ("" if it does) and its stamp. */
    public HostView withGuests(String closed, long stamp) {
        return new HostView(name, state, cores, speed, load1, cpuPercent, memFreeBytes, memTotalBytes, guestSlots,
                guestJobs, labels, programs, bytesPerSecondFromHome, guestCpuShare, closed, stamp, ownerMemReserveBytes);
    }

    /** This view with the memory its owner's policy keeps from guests. */
    public HostView withOwnerMemReserve(long bytes) {
        return new HostView(name, state, cores, speed, load1, cpuPercent, memFreeBytes, memTotalBytes, guestSlots,
                guestJobs, labels, programs, bytesPerSecondFromHome, guestCpuShare, closedToGuests, policyStamp, bytes);
    }

    /** This view with another count of guests running (a fresher one than gossip's). */
    public HostView withGuestJobs(int jobs) {
        return new HostView(name, state, cores, speed, load1, cpuPercent, memFreeBytes, memTotalBytes, guestSlots, jobs,
                labels, programs, bytesPerSecondFromHome, guestCpuShare, closedToGuests, policyStamp, ownerMemReserveBytes);
    }

    /** Guest slots not taken, never negative. */
    public int freeSlots() {
        return Math.max(0, guestSlots - guestJobs);
    }

    /** Cores all guests together may use: the guest CPU share if set, never more than the cores. */
    public double guestCpuCapacity() {
        double cores = Math.max(0, this.cores);
        return guestCpuShare > 0 ? Math.min(guestCpuShare, cores) : cores;
    }

    /**
     * Whole CPUs guests may claim together: the capacity rounded up, so a node
     * lending half a core still runs a one-CPU job (slowly).
     */
    public int guestCpuLimit() {
        return (int) Math.ceil(guestCpuCapacity() - 1e-9);
    }

    /**
     * This view after one more guest of {@code cpus} cores and {@code memBytes} started on it: a slot and
     * the memory taken, and the load its threads will add (so the owner's share of the load, load − guest
     * CPUs, stays what it was).
     */
    HostView plusGuest(int cpus, long memBytes) {
        return new HostView(name, state, cores, speed, load1 + cpus, cpuPercent, memFreeBytes - memBytes,
                memTotalBytes, guestSlots, guestJobs + 1, labels, programs, bytesPerSecondFromHome, guestCpuShare,
                closedToGuests, policyStamp, ownerMemReserveBytes);
    }

    /**
     * Memory a guest may never take here: what the owner's policy keeps ({@code owner-mem-reserve}),
     * but never less than placement's own minimum ({@link Feasibility#reserveBytes(long)}).
     */
    public long memReserveBytes() {
        return Math.max(Feasibility.reserveBytes(memTotalBytes), ownerMemReserveBytes);
    }
}
