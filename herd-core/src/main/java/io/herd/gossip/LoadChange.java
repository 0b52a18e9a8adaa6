package io.herd.gossip;

import java.util.Objects;

/**
 * Decides whether a newer vector is <em>news</em>: a change that placement
 * would act on, as opposed to the sample-to-sample jitter of load averages,
 * CPU percentages and free memory.
 *
 * <p>Why it exists: gossip can spread only a bounded amount of news per
 * second through the whole cluster (see {@link GossipEngine}). A daemon
 * publishes a new vector every sample, and each differs a little from the
 * last; if every one of them were forwarded as news, a 200-node cluster would
 * produce hundreds of "changes" a second and bury the one that matters (the
 * owner came back, a node filled its guest slots). Jitter still travels, more
 * slowly: in every message the sender's own vector, and in the engine's
 * round-robin refresh of everything it knows.
 *
 * <p>Thresholds are relative to the vector the receiver already holds, so a
 * slow drift becomes news at each receiver once it has drifted far enough
 * from what that receiver knows, and no drift stays invisible forever.
 */
final class LoadChange {

    /** Load average moves below this many runnable tasks (or a quarter of the cores, if more) are jitter. */
    static final double LOAD_STEP = 1.0;
    /** Moves of the (smoothed) CPU utilisation below this many points are jitter. */
    static final double CPU_STEP = 25.0;
    /** Free memory or swap moves below this (or a tenth of the total, if more) are jitter: less than a typical job needs. */
    static final long MEM_STEP = 512L << 20;
    /** Owner idle time matters in coarse bands; owner policies are minutes long ("idle for 10 min"). */
    private static final long[] IDLE_BANDS = {60, 5 * 60, 15 * 60, 60 * 60};

    private LoadChange() {
    }

    /** True when {@code incoming}, newer than {@code known}, differs from it in a way worth spreading fast. */
    static boolean isNews(LoadVector known, LoadVector incoming) {
        if (known == null) return true;
        if (known.incarnation() != incoming.incarnation()) return true;
        if (known.cores() != incoming.cores()
                || Double.compare(known.speed(), incoming.speed()) != 0
                || known.ownerPresent() != incoming.ownerPresent()
                || known.guestSlots() != incoming.guestSlots()
                || known.leaving() != incoming.leaving()
                || Double.compare(known.guestCpus(), incoming.guestCpus()) != 0
                || !known.labels().equals(incoming.labels())
                || !known.guests().equals(incoming.guests())
                || !Objects.equals(known.address(), incoming.address())
                || !Objects.equals(known.sandbox(), incoming.sandbox())
                || !Objects.equals(known.version(), incoming.version())) {
            return true;
        }
        // Guest jobs: news when the node fills up or frees its first slot, or moves by a
        // quarter of its slots. One job more or less is for the host's admission check to
        // catch; it re-checks every offer with its own fresh numbers anyway.
        int knownFree = known.guestSlots() - known.guestJobs();
        int free = incoming.guestSlots() - incoming.guestJobs();
        if ((knownFree <= 0) != (free <= 0)
                || Math.abs(known.guestJobs() - incoming.guestJobs()) >= Math.max(2, incoming.guestSlots() / 4)) {
            return true;
        }
        if (idleBand(known.ownerIdleSeconds()) != idleBand(incoming.ownerIdleSeconds())) return true;
        if (Math.abs(known.load1() - incoming.load1()) >= Math.max(LOAD_STEP, 0.25 * incoming.cores())) return true;
        if (Math.abs(known.cpuPercent() - incoming.cpuPercent()) >= CPU_STEP) return true;
        long memStep = Math.max(MEM_STEP, incoming.memTotalBytes() / 10);
        if (Math.abs(known.memFreeBytes() - incoming.memFreeBytes()) >= memStep
                || Math.abs(known.memTotalBytes() - incoming.memTotalBytes()) >= memStep) {
            return true;
        }
        long swapStep = Math.max(MEM_STEP, incoming.swapTotalBytes() / 10);
        return Math.abs(known.swapFreeBytes() - incoming.swapFreeBytes()) >= swapStep
                || Math.abs(known.swapTotalBytes() - incoming.swapTotalBytes()) >= swapStep;
    }

    private static int idleBand(long idleSeconds) {
        if (idleSeconds < 0) return -1;
        int band = 0;
        while (band < IDLE_BANDS.length && idleSeconds >= IDLE_BANDS[band]) band++;
        return band;
    }
}
