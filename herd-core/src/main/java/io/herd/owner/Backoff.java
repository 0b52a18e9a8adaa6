package io.herd.owner;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Backs guests off when the owner's own disk latency or memory suffers: pure and clock-free like
 * {@link OwnerWatch}, so its rules are tested on injected readings; {@link OwnerMonitor} feeds it
 * and carries out its decisions.
 *
 * <h2>Disk</h2>
 * The reading is the owner's own latency: a small write + fsync timed by the daemon outside the
 * guests' cgroup ({@link IoProbe}), which is what the owner's editor or database sees. System-wide
 * pressure ({@code /proc/pressure/io}) cannot tell the owner's stalls from the guests' own (a
 * guest waiting on its throttle is "stalled" too), so it only decides when to probe.
 * <pre>
 *   latency over the limit:   full budget → 1/4 → 1/16 → frozen     one step per reading
 *   latency under half of it  for {@code hold}:  one step back         (hysteresis: no flapping)
 * </pre>
 *
 * <h2>Memory</h2>
 * Guests are bounded by their group's limit (RAM minus the owner's reserve), so the owner keeps its
 * share. If the machine still runs short — available memory under the reserve with memory pressure
 * ({@code /proc/pressure/memory}), or under half the reserve whatever the pressure — guests are
 * frozen at once (they stop allocating), thawed once memory is back above the reserve for
 * {@code hold}, and evicted (killed and placed elsewhere) if it stays short for {@code grace}:
 * before the owner swaps. Pressure alone, with memory available, is a guest reclaiming inside its
 * own limit, which harms nobody else, and is ignored.
 *
 * <h2>New memory</h2>
 * Taking memory costs more than the guest's own CPU time: the kernel zeroes every new page,
 * reclaims and frees in bulk, and in a virtual machine the host backs each page as it is first
 * touched (measured here: a guest filling 12 GiB at a fifth of a core, ~250 MB/s, doubled the
 * owner's p99 compute time; at ~50 MB/s it did not). So while the owner uses the CPU (its own load,
 * guests' excluded, at least {@value #OWNER_BUSY_CORES} cores, or unknown), guests may grow their
 * anonymous memory only at {@code memRate} (judged over the last second, so a few jobs starting
 * together are not a fast guest; a burst of four times the rate within one reading counts at once):
 * faster, their CPU share is cut in proportion (the rate
 * of new pages follows the CPU the guest gets), down to 1/64; it doubles back each
 * {@value #CPU_HOLD_MILLIS} ms that the rate stays under half the limit or the owner is idle.
 *
 * <p>Not thread-safe: one monitor thread owns it.
 */
public final class Backoff {

    /** What the host does to its guests. */
    public enum Action { IO_FACTOR, CPU_FACTOR, FREEZE, THAW, EVICT }

    /**
     * A decision; {@code factor} is the share of the I/O budget for {@link Action#IO_FACTOR}, of the
     * guests' CPU for {@link Action#CPU_FACTOR}.
     */
    public record Decision(Action action, double factor, String reason) {
        public Decision {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** I/O levels: the share of the budget guests keep; 0 = frozen. */
    static final double[] IO_FACTORS = {1, 0.25, 1.0 / 16, 0};
    /** The smallest share of their CPU guests are cut to for taking memory too fast. */
    static final double MIN_CPU_FACTOR = 1.0 / 64;
    /** The owner's own load, in cores, from which guests' new memory is held to the rate. */
    static final double OWNER_BUSY_CORES = 0.05;
    /** How long the rate must stay low (or the owner idle) before the guests' CPU share doubles back. */
    static final long CPU_HOLD_MILLIS = 2000;
    /**
     * The rate is judged over this window, so a few jobs starting together (some MiB in one
     * reading) are not a fast guest; a burst over {@value #BURST_FACTOR} times the limit within
     * one reading is cut at once.
     */
    static final long GROWTH_WINDOW_MILLIS = 1000;
    static final double BURST_FACTOR = 4;

    /**
     * @param ioLatencyMillis   the owner's write + fsync latency over which guests back off; 0 = off
     * @param memReserveBytes   memory kept for the owner; 0 = no memory back-off
     * @param memPressure       share of time (0-1) tasks stalled on memory that, with memory short, freezes guests
     * @param holdMillis        how long things must be fine before one step back (and a thaw)
     * @param graceMillis       how long memory may stay short with guests frozen before they are evicted
     * @param memRate           bytes per second of new memory guests may take while the owner uses the CPU; 0 = any
     */
    public record Settings(long ioLatencyMillis, long memReserveBytes, double memPressure, long holdMillis,
                           long graceMillis, long memRate) {
        public Settings {
            if (ioLatencyMillis < 0 || memReserveBytes < 0 || holdMillis < 0 || graceMillis < 0 || memRate < 0) {
                throw new IllegalArgumentException("back-off settings must not be negative");
            }
            if (!(memPressure >= 0 && memPressure <= 1)) {
                throw new IllegalArgumentException("memory pressure threshold must be a share from 0 to 1: " + memPressure);
            }
        }

        /**
         * The latency and reserve given, 10% memory stall, 30 s hold, 30 s grace. The hold is long on
         * purpose: a guest's slow writes hurt the owner in bursts (a journal commit that waits for the
         * guest's throttled data every few seconds), so a few calm probes between two bursts must not
         * give the guest its budget back (fast back-off, slow release).
         */
        public static Settings of(long ioLatencyMillis, long memReserveBytes) {
            return of(ioLatencyMillis, memReserveBytes, 0);
        }

        /** As {@link #of(long, long)}, with a limit on the rate of guests' new memory. */
        public static Settings of(long ioLatencyMillis, long memReserveBytes, long memRate) {
            return new Settings(ioLatencyMillis, memReserveBytes, 0.10, 30_000, 30_000, memRate);
        }
    }

    /**
     * One reading.
     *
     * @param nowMillis      monotonic time of the reading
     * @param ownerIoMillis  the owner's write + fsync latency just measured; NaN when not measured this time
     * @param memStall       share of the last interval some task stalled on memory (0-1); NaN when unknown
     * @param memAvailable   the machine's available memory (MemAvailable), bytes; -1 when unknown
     */
    public record Reading(long nowMillis, double ownerIoMillis, double memStall, long memAvailable) {}

    private final Settings settings;
    private int ioLevel;
    /** When the I/O level last rose or stepped back; the next step back waits {@code hold} from the last high reading. */
    private long ioCalmSince;
    private boolean memFrozen;
    private long memShortSince;
    private long memFineSince;
    private boolean frozen;
    private double cpuFactor = 1;
    private long cpuCalmSince;
    /** The guests' anonymous memory over the last {@value #GROWTH_WINDOW_MILLIS} ms: times and bytes, oldest first. */
    private final java.util.ArrayDeque<long[]> growth = new java.util.ArrayDeque<>();

    public Backoff(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public Settings settings() {
        return settings;
    }

    /** True while the back-off holds the guests frozen. */
    public boolean frozen() {
        return frozen;
    }

    /** The share of the I/O budget guests have now: 1, 0.25, 0.0625, or 0 when frozen for I/O. */
    public double ioFactor() {
        return IO_FACTORS[ioLevel];
    }

    /** The share of their CPU guests have now: 1, or less while they take memory too fast. */
    public double cpuFactor() {
        return cpuFactor;
    }

    /** For {@code herd nodes} and logs: normal, io 1/4, io 1/16, frozen (io), frozen (memory); "cpu 1/N" while cut. */
    public String state() {
        if (memFrozen) return "frozen (memory)";
        String io = switch (ioLevel) {
            case 0 -> "normal";
            case 1 -> "io 1/4";
            case 2 -> "io 1/16";
            default -> "frozen (io)";
        };
        if (cpuFactor >= 1) return io;
        String cpu = "cpu 1/" + Math.round(1 / cpuFactor);
        return ioLevel == 0 ? cpu : io + ", " + cpu;
    }

    /** What to do after this reading, in order (an I/O step and a thaw may come together). */
    public List<Decision> observe(Reading r) {
        List<Decision> out = new ArrayList<>();
        int before = ioLevel;
        String ioWhy = null;
        if (settings.ioLatencyMillis() > 0 && !Double.isNaN(r.ownerIoMillis())) {
            if (r.ownerIoMillis() > settings.ioLatencyMillis()) {
                if (ioLevel < IO_FACTORS.length - 1) ioLevel++;
                ioCalmSince = r.nowMillis();
                ioWhy = String.format(Locale.ROOT, "the owner's write+fsync took %.1f ms (over %d ms)",
                        r.ownerIoMillis(), settings.ioLatencyMillis());
            } else if (r.ownerIoMillis() > settings.ioLatencyMillis() / 2.0) {
                ioCalmSince = r.nowMillis();   // not high, not calm either: stay
            } else if (ioLevel > 0 && r.nowMillis() - ioCalmSince >= settings.holdMillis()) {
                ioLevel--;
                ioCalmSince = r.nowMillis();
                ioWhy = String.format(Locale.ROOT, "the owner's write+fsync is back to %.1f ms", r.ownerIoMillis());
            }
        }

        boolean evict = false;
        String memWhy = null;
        long reserve = settings.memReserveBytes();
        if (reserve > 0 && r.memAvailable() >= 0) {
            boolean pressure = !Double.isNaN(r.memStall()) && r.memStall() >= settings.memPressure();
            boolean short_ = r.memAvailable() < reserve && (pressure || r.memAvailable() < reserve / 2);
            if (short_) {
                if (!memFrozen) {
                    memFrozen = true;
                    memShortSince = r.nowMillis();
                    memWhy = "memory short: " + mib(r.memAvailable()) + " available, the owner's reserve is " + mib(reserve)
                            + (pressure ? String.format(Locale.ROOT, ", %.0f%% stalled", r.memStall() * 100) : "");
                } else if (r.nowMillis() - memShortSince >= settings.graceMillis()) {
                    evict = true;
                    memFrozen = false;
                    memWhy = "memory still short after " + settings.graceMillis() / 1000 + " s: " + mib(r.memAvailable())
                            + " available, the owner's reserve is " + mib(reserve);
                }
                memFineSince = r.nowMillis();
            } else if (memFrozen && r.memAvailable() >= reserve) {
                if (r.nowMillis() - memFineSince >= settings.holdMillis()) {
                    memFrozen = false;
                    memWhy = "memory back: " + mib(r.memAvailable()) + " available";
                }
            } else {
                memFineSince = r.nowMillis();
            }
        }

        if (evict) {
            out.add(new Decision(Action.EVICT, 0, "evicted: " + memWhy));
            frozen = false;
            ioLevel = Math.min(ioLevel, IO_FACTORS.length - 2);
        }
        boolean nowFrozen = memFrozen || ioLevel == IO_FACTORS.length - 1;
        if (ioLevel != before && ioLevel < IO_FACTORS.length - 1) {
            out.add(new Decision(Action.IO_FACTOR, IO_FACTORS[ioLevel], "guest I/O at "
                    + (ioLevel == 0 ? "its full budget" : ioLevel == 1 ? "1/4 of its budget" : "1/16 of its budget")
                    + ": " + ioWhy));
        }
        if (nowFrozen && !frozen) {
            out.add(new Decision(Action.FREEZE, 0, "frozen: " + (memWhy != null && memFrozen ? memWhy : ioWhy)));
        } else if (!nowFrozen && frozen) {
            out.add(new Decision(Action.THAW, 0, "thawed: " + (memWhy != null ? memWhy : ioWhy)));
        }
        frozen = nowFrozen;
        return out;
    }

    /**
     * One reading of the guests' memory growth, taken more often than {@link #observe} (the cut
     * must come before a fast guest has taken much): the guests' CPU share from the rate of their
     * new memory (see the class comment); a {@link Action#CPU_FACTOR} decision when it changes.
     *
     * @param nowMillis      monotonic time of the reading
     * @param guestAnonBytes all guests' anonymous memory now, bytes; -1 when unknown (the next rate starts afresh)
     * @param ownerLoad      the owner's own CPU load, in cores (guests excluded); NaN when unknown (counts as busy)
     */
    public Decision observeGrowth(long nowMillis, long guestAnonBytes, double ownerLoad) {
        if (guestAnonBytes < 0) {
            growth.clear();   // a gap: the next rate starts afresh
            return null;
        }
        long[] last = growth.peekLast();
        double burst = last == null || nowMillis <= last[0] ? Double.NaN
                : Math.max(0, guestAnonBytes - last[1]) * 1000.0 / (nowMillis - last[0]);
        while (!growth.isEmpty() && nowMillis - growth.peekFirst()[0] > GROWTH_WINDOW_MILLIS) growth.pollFirst();
        long[] first = growth.peekFirst();
        // Over a full window even when the history is shorter: a start-up's few MiB are not a rate.
        double rate = first == null || nowMillis <= first[0] ? Double.NaN
                : Math.max(0, guestAnonBytes - first[1]) * 1000.0 / Math.max(GROWTH_WINDOW_MILLIS, nowMillis - first[0]);
        growth.addLast(new long[] {nowMillis, guestAnonBytes});
        if (!Double.isNaN(burst) && burst > BURST_FACTOR * settings.memRate()) rate = Math.max(rate, burst);
        long limit = settings.memRate();
        if (limit <= 0 || Double.isNaN(rate)) return null;
        boolean ownerBusy = Double.isNaN(ownerLoad) || ownerLoad >= OWNER_BUSY_CORES;
        if (ownerBusy && rate > limit) {
            cpuCalmSince = nowMillis;
            double f = Math.max(MIN_CPU_FACTOR, cpuFactor * 0.8 * limit / rate);
            if (f >= cpuFactor * 0.9) return null;   // close enough: no flapping on noise
            cpuFactor = f;
            // Judge the new share on what it lets through, not on the growth that caused the cut.
            growth.clear();
            growth.addLast(new long[] {nowMillis, guestAnonBytes});
            return new Decision(Action.CPU_FACTOR, f, String.format(Locale.ROOT,
                    "guest CPU at %.3f of its share: guests took %s/s of new memory (over %s/s) while the owner works",
                    f, mib((long) rate), mib(limit)));
        }
        if (!ownerBusy || rate <= limit / 2.0) {
            if (cpuFactor < 1 && nowMillis - cpuCalmSince >= CPU_HOLD_MILLIS) {
                cpuFactor = Math.min(1, cpuFactor * 2);
                cpuCalmSince = nowMillis;
                return new Decision(Action.CPU_FACTOR, cpuFactor, String.format(Locale.ROOT,
                        "guest CPU at %.3f of its share: %s", cpuFactor,
                        ownerBusy ? "guests take " + mib((long) rate) + "/s of new memory" : "the owner is idle"));
            }
            return null;
        }
        cpuCalmSince = nowMillis;   // between half the limit and the limit: hold
        return null;
    }

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
