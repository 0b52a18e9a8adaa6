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
 * @param guests whether it takes guests now: {@code yes}, {@code locked} (its owner ran
 *              {@code herd lock}), {@code idle-wait} (accept when-idle: the owner was active),
 *              {@code window} (outside its accept windows) or {@code never}; "" before it was heard
 * @param guestsReason why not, e.g. "next opens Mon 19:00"; "" when accepting
 * @param policyStamp changes with the node's policy (placement's memory of policy refusals); not in the JSON
 * @param ownerMemReserveBytes memory its owner's policy keeps from guests; 0 = not said; not in the JSON
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
        double guestCpus,
        String guests,
        String guestsReason,
        @com.fasterxml.jackson.annotation.JsonIgnore long policyStamp,
        @com.fasterxml.jackson.annotation.JsonIgnore long ownerMemReserveBytes) {

    public NodeView {
        labels = labels == null ? List.of() : List.copyOf(labels);
        guests = guests == null ? "" : guests;
        guestsReason = guestsReason == null ? "" : guestsReason;
    }

    /** A row that says nothing of the owner's policy (accepting). */
    public NodeView(String name, String address, String state, int cores, double speed, double load, double cpuPercent,
                    long memFreeBytes, long memTotalBytes, long swapFreeBytes, long swapTotalBytes,
                    long ownerIdleSeconds, boolean ownerPresent, int guestJobs, int guestSlots, String sandbox,
                    String version, double lastHeardSeconds, boolean self, List<String> labels, double guestCpus) {
        this(name, address, state, cores, speed, load, cpuPercent, memFreeBytes, memTotalBytes, swapFreeBytes,
                swapTotalBytes, ownerIdleSeconds, ownerPresent, guestJobs, guestSlots, sandbox, version,
                lastHeardSeconds, self, labels, guestCpus, "yes", "", 0, 0);
    }

    /** A row without the owner's memory reserve (placement keeps its own minimum). */
    public NodeView(String name, String address, String state, int cores, double speed, double load, double cpuPercent,
                    long memFreeBytes, long memTotalBytes, long swapFreeBytes, long swapTotalBytes,
                    long ownerIdleSeconds, boolean ownerPresent, int guestJobs, int guestSlots, String sandbox,
                    String version, double lastHeardSeconds, boolean self, List<String> labels, double guestCpus,
                    String guests, String guestsReason, long policyStamp) {
        this(name, address, state, cores, speed, load, cpuPercent, memFreeBytes, memTotalBytes, swapFreeBytes,
                swapTotalBytes, ownerIdleSeconds, ownerPresent, guestJobs, guestSlots, sandbox, version,
                lastHeardSeconds, self, labels, guestCpus, guests, guestsReason, policyStamp, 0);
    }

    /** True unless the node said it takes no guests now. */
    public boolean acceptsGuests() {
        return guests.isEmpty() || guests.equals("yes");
    }

    /** A row without labels or guest CPU cap. */
    public NodeView(String name, String address, String state, int cores, double speed, double load, double cpuPercent,
                    long memFreeBytes, long memTotalBytes, long swapFreeBytes, long swapTotalBytes,
                    long ownerIdleSeconds, boolean ownerPresent, int guestJobs, int guestSlots, String sandbox,
                    String version, double lastHeardSeconds, boolean self) {
        this(name, address, state, cores, speed, load, cpuPercent, memFreeBytes, memTotalBytes, swapFreeBytes,
                swapTotalBytes, ownerIdleSeconds, ownerPresent, guestJobs, guestSlots, sandbox, version,
                lastHeardSeconds, self, List.of(), 0, "", "", 0);
    }
}
