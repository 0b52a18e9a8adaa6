package io.herd.membership;

import java.util.List;

/**
 * One row of the cluster map as a node sees it: membership state joined with
 * the node's latest load vector. Field names are the keys of
 * {@code herd nodes --json}.
 *
 * @param state one of {@code alive}, {@code suspect} (in the view but not heard
 *              from lately), {@code dead} (dropped from the view without
 *              leaving), {@code leaving} (announced a graceful leave), {@code left}
 * @param lastHeardSeconds age of the newest information this node has about
 *              that node (seconds since its origin published it); -1 if none
 * @param labels the node's labels ({@code herd label add}), sorted
 * @param guestCpus cap on the CPU of all its guests together, in cores; 0 = no cap
 */
public record NodeView(
        String name,
        String address,
        String state,
        int cores,
        double speed,
        double load,
        double cpuPercent,
        long memFreeBytes,
        long memTotalBytes,
        long swapFreeBytes,
        long swapTotalBytes,
        long ownerIdleSeconds,
        boolean ownerPresent,
        int guestJobs,
        int guestSlots,
        String sandbox,
        String version,
        double lastHeardSeconds,
        boolean self,
        List<String> labels,
        double guestCpus) {

    public NodeView {
        labels = labels == null ? List.of() : List.copyOf(labels);
    }

    /** A row without labels or guest CPU cap. */
    public NodeView(String name, String address, String state, int cores, double speed, double load, double cpuPercent,
                    long memFreeBytes, long memTotalBytes, long swapFreeBytes, long swapTotalBytes,
                    long ownerIdleSeconds, boolean ownerPresent, int guestJobs, int guestSlots, String sandbox,
                    String version, double lastHeardSeconds, boolean self) {
        this(name, address, state, cores, speed, load, cpuPercent, memFreeBytes, memTotalBytes, swapFreeBytes,
                swapTotalBytes, ownerIdleSeconds, ownerPresent, guestJobs, guestSlots, sandbox, version,
                lastHeardSeconds, self, List.of(), 0);
    }
}
