package io.herd.gossip;

import java.util.List;

/**
 * One node's load vector: what it is (cores, measured speed, capabilities) and
 * how busy it is now. Produced by the node itself, spread by gossip, read by
 * placement and by {@code herd nodes}.
 *
 * @param node             node name (unique in the cluster, the certificate's CN)
 * @param address          advertised gRPC address, {@code host:port}
 * @param incarnation      start time of the publishing daemon (ms since epoch);
 *                         a restarted daemon has a higher one, so its fresh
 *                         vectors win over stale ones of its previous life
 * @param seq              publication counter within one incarnation
 * @param cores            online logical CPUs
 * @param speed            calibrated CPU speed: work units per second per core
 *                         (see {@link SpeedBenchmark}); comparable across machines
 * @param load1            1-minute load average
 * @param cpuPercent       whole-machine CPU utilisation, 0..100
 * @param memTotalBytes    physical memory
 * @param memFreeBytes     memory available to new work (MemAvailable)
 * @param swapTotalBytes   swap size
 * @param swapFreeBytes    free swap
 * @param ownerIdleSeconds seconds since the owner's last keyboard, mouse or tty
 *                         input; -1 when unknown (no source readable)
 * @param ownerPresent     someone is logged in locally (seat or local tty)
 * @param guestSlots       how many guest jobs this node accepts at once
 * @param guestJobs        guest jobs running now
 * @param sandbox          sandbox capability level, e.g. "bwrap+cgroup2" or "nice"
 * @param version          herd version of the daemon
 * @param leaving          the node announced a graceful leave
 * @param labels           the admin's labels for the node ({@code herd label add}), sorted;
 *                         see {@link io.herd.policy.Labels} for what a label may be
 * @param guestCpus        cap on the CPU all guests together may use, in cores, as
 *                         enforced now ({@code herd policy set guest-cpus}); 0 = no cap
 * @param guests           whether it takes guests now (owner policy and lock), and its policy stamp
 */
public record LoadVector(
        String node,
        String address,
        long incarnation,
        long seq,
        int cores,
        double speed,
        double load1,
        double cpuPercent,
        long memTotalBytes,
        long memFreeBytes,
        long swapTotalBytes,
        long swapFreeBytes,
        long ownerIdleSeconds,
        boolean ownerPresent,
        int guestSlots,
        int guestJobs,
        String sandbox,
        String version,
        boolean leaving,
        List<String> labels,
        double guestCpus,
        GuestAccess guests) {

    public LoadVector {
        labels = labels == null ? List.of() : List.copyOf(labels);
        guests = guests == null ? GuestAccess.OPEN : guests;
    }

    /** A vector that says nothing of the owner's policy (accepting, as older peers' vectors mean). */
    public LoadVector(String node, String address, long incarnation, long seq, int cores, double speed, double load1,
                      double cpuPercent, long memTotalBytes, long memFreeBytes, long swapTotalBytes,
                      long swapFreeBytes, long ownerIdleSeconds, boolean ownerPresent, int guestSlots, int guestJobs,
                      String sandbox, String version, boolean leaving, List<String> labels, double guestCpus) {
        this(node, address, incarnation, seq, cores, speed, load1, cpuPercent, memTotalBytes, memFreeBytes,
                swapTotalBytes, swapFreeBytes, ownerIdleSeconds, ownerPresent, guestSlots, guestJobs, sandbox, version,
                leaving, labels, guestCpus, GuestAccess.OPEN);
    }

    /** A vector without labels or guest CPU cap (the fields older peers do not send). */
    public LoadVector(String node, String address, long incarnation, long seq, int cores, double speed, double load1,
                      double cpuPercent, long memTotalBytes, long memFreeBytes, long swapTotalBytes,
                      long swapFreeBytes, long ownerIdleSeconds, boolean ownerPresent, int guestSlots, int guestJobs,
                      String sandbox, String version, boolean leaving) {
        this(node, address, incarnation, seq, cores, speed, load1, cpuPercent, memTotalBytes, memFreeBytes,
                swapTotalBytes, swapFreeBytes, ownerIdleSeconds, ownerPresent, guestSlots, guestJobs, sandbox, version,
                leaving, List.of(), 0);
    }

    /** True when this vector is newer than {@code other} from the same node. */
    public boolean newerThan(LoadVector other) {
        if (other == null) return true;
        if (incarnation != other.incarnation) return incarnation > other.incarnation;
        return seq > other.seq;
    }

    public LoadVector withSeq(long newSeq) {
        return new LoadVector(node, address, incarnation, newSeq, cores, speed, load1, cpuPercent,
                memTotalBytes, memFreeBytes, swapTotalBytes, swapFreeBytes, ownerIdleSeconds,
                ownerPresent, guestSlots, guestJobs, sandbox, version, leaving, labels, guestCpus, guests);
    }

    public LoadVector withLeaving(boolean isLeaving) {
        return new LoadVector(node, address, incarnation, seq, cores, speed, load1, cpuPercent,
                memTotalBytes, memFreeBytes, swapTotalBytes, swapFreeBytes, ownerIdleSeconds,
                ownerPresent, guestSlots, guestJobs, sandbox, version, isLeaving, labels, guestCpus, guests);
    }

    /** This vector with the admin's labels and the guest CPU cap in force. */
    public LoadVector withAdmin(List<String> newLabels, double newGuestCpus) {
        return new LoadVector(node, address, incarnation, seq, cores, speed, load1, cpuPercent,
                memTotalBytes, memFreeBytes, swapTotalBytes, swapFreeBytes, ownerIdleSeconds,
                ownerPresent, guestSlots, guestJobs, sandbox, version, leaving, newLabels, newGuestCpus, guests);
    }

    /** This vector with whether the node takes guests now. */
    public LoadVector withGuests(GuestAccess access) {
        return new LoadVector(node, address, incarnation, seq, cores, speed, load1, cpuPercent,
                memTotalBytes, memFreeBytes, swapTotalBytes, swapFreeBytes, ownerIdleSeconds,
                ownerPresent, guestSlots, guestJobs, sandbox, version, leaving, labels, guestCpus, access);
    }
}
