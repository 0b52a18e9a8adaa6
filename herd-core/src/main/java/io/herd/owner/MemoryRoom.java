package io.herd.owner;

/**
 * Whether a guest's memory fits beside the owner's: the host's own re-check of an offer (placement
 * decides on gossip a moment old and does not know this node's {@code owner-mem-reserve}). Pure.
 */
public final class MemoryRoom {

    private MemoryRoom() {}

    /**
     * Why a guest asking for {@code askedBytes} would push the owner out, or null when it fits.
     *
     * @param askedBytes   the job's {@code --mem}; 0 = it asked for nothing (the node's default limit applies
     *                     and the back-off protects the owner)
     * @param availableBytes the machine's available memory now (MemAvailable); -1 when unknown
     * @param reserveBytes the owner's reserve
     */
    public static String refusal(long askedBytes, long availableBytes, long reserveBytes) {
        return refusal(askedBytes, () -> availableBytes, reserveBytes);
    }

    /**
     * {@link #refusal(long, long, long)} with the available memory read only for a job that asks
     * for some: reading {@code /proc/meminfo} at every start was 0.7 % of a host's CPU on an array
     * of short jobs that ask for none.
     */
    public static String refusal(long askedBytes, java.util.function.LongSupplier available, long reserveBytes) {
        if (askedBytes <= 0) return null;
        long availableBytes = available.getAsLong();
        if (availableBytes < 0) return null;
        long room = Math.max(0, availableBytes - reserveBytes);
        if (askedBytes <= room) return null;
        return "memory: the job asks for " + mib(askedBytes) + ", this node has " + mib(availableBytes)
                + " available and keeps " + mib(reserveBytes) + " for its owner (owner-mem-reserve)";
    }

    private static String mib(long bytes) {
        return bytes >= (10L << 30) ? (bytes >> 30) + " GiB" : (bytes >> 20) + " MiB";
    }
}
