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
 * <p>Not thread-safe: one monitor thread owns it.
 */
public final class Backoff {

    /** What the host does to its guests. */
    public enum Action { IO_FACTOR, FREEZE, THAW, EVICT }

    /** A decision; {@code factor} is the share of the I/O budget for {@link Action#IO_FACTOR}. */
    public record Decision(Action action, double factor, String reason) {
        public Decision {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** I/O levels: the share of the budget guests keep; 0 = frozen. */
    static final double[] IO_FACTORS = {1, 0.25, 1.0 / 16, 0};

    /**
     * @param ioLatencyMillis   the owner's write + fsync latency over which guests back off; 0 = off
     * @param memReserveBytes   memory kept for the owner; 0 = no memory back-off
     * @param memPressure       share of time (0-1) tasks stalled on memory that, with memory short, freezes guests
     * @param holdMillis        how long things must be fine before one step back (and a thaw)
     * @param graceMillis       how long memory may stay short with guests frozen before they are evicted
     */
    public record Settings(long ioLatencyMillis, long memReserveBytes, double memPressure, long holdMillis,
                           long graceMillis) {
        public Settings {
            if (ioLatencyMillis < 0 || memReserveBytes < 0 || holdMillis < 0 || graceMillis < 0) {
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
            return new Settings(ioLatencyMillis, memReserveBytes, 0.10, 30_000, 30_000);
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

    /** For {@code herd nodes} and logs: normal, io 1/4, io 1/16, frozen (io), frozen (memory). */
    public String state() {
        if (memFrozen) return "frozen (memory)";
        return switch (ioLevel) {
            case 0 -> "normal";
            case 1 -> "io 1/4";
            case 2 -> "io 1/16";
            default -> "frozen (io)";
        };
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

    private static String mib(long bytes) {
        return (bytes >> 20) + " MiB";
    }
}
