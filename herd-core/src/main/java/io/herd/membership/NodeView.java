package io.herd.membership;

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
        boolean self) {
}
