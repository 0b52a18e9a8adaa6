package io.herd.owner;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides what happens to this node's guests when its owner comes back: pure
 * and clock-free (every call says what time it is), so the rules are tested
 * on a virtual clock and the daemon's {@link OwnerMonitor} only feeds it
 * readings and carries out its decisions.
 *
 * <pre>
 *            owner active (input, or own load over the threshold)
 *   LENT ─────────────────────────────────────────────▶ FROZEN  (FREEZE)
 *    ▲                                                    │  │
 *    │  quiet for {@code quiet} before the grace ends       │  │ still active when
 *    └──────────────────────────────────────── (THAW) ◀───┘  │ {@code grace} has passed
 *    ▲                                                       ▼
 *    └──────────── quiet for {@code quiet} ──────────── EVICTED (EVICT)
 * </pre>
 *
 * "Active" is input seen within the last {@code quiet} (a reading of "input
 * now" counts from the moment it was observed) or the owner's own CPU load
 * above the threshold. While not {@link State#LENT} the node takes no new
 * guests ({@link #acceptsGuests()}).
 *
 * <p>Not thread-safe: one monitor thread owns it.
 */
public final class OwnerWatch {

    /** What the host does to all its guests. */
    public enum Action { FREEZE, THAW, EVICT }

    /** A decision with the reason shown in logs, {@code herd ps} and the job's history. */
    public record Decision(Action action, String reason) {
        public Decision {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(reason, "reason");
        }
    }

    /** Where the watch is. */
    public enum State {
        /** The owner is away: guests run. */
        LENT,
        /** The owner came back: guests are frozen until the owner goes quiet or the grace ends. */
        FROZEN,
        /** The grace ended with the owner still active: guests were evicted; none are taken until the owner goes quiet. */
        EVICTED
    }

    /**
     * @param grace         how long guests stay frozen waiting for the owner to go quiet before they are evicted
     *                      (default 2 min)
     * @param quiet         how long without input (and with the owner's load under the threshold) counts as
     *                      the owner being idle again (default 30 s); longer than {@code grace} means frozen guests
     *                      are always evicted, never thawed
     * @param loadThreshold the owner's own CPU load, in cores, above which the owner counts as active; 0 = off
     */
    public record Settings(Duration grace, Duration quiet, double loadThreshold) {
        public static final Duration DEFAULT_GRACE = Duration.ofMinutes(2);
        public static final Duration DEFAULT_QUIET = Duration.ofSeconds(30);

        public Settings {
            Objects.requireNonNull(grace, "grace");
            Objects.requireNonNull(quiet, "quiet");
            if (grace.isNegative()) throw new IllegalArgumentException("the owner grace must not be negative: " + grace);
            if (quiet.isNegative() || quiet.isZero()) throw new IllegalArgumentException("the owner quiet time must be positive: " + quiet);
            if (!(loadThreshold >= 0) || Double.isInfinite(loadThreshold)) {
                throw new IllegalArgumentException("the owner load threshold must be 0 (off) or a positive number of cores: " + loadThreshold);
            }
        }

        /** Grace 2 min, quiet 30 s, no load threshold. */
        public static Settings defaults() {
            return new Settings(DEFAULT_GRACE, DEFAULT_QUIET, 0);
        }
    }

    private final Settings settings;
    private State state = State.LENT;
    /** When the guests were frozen (FROZEN), in the caller's millis. */
    private long frozenAt;
    private String lastWhy = "";

    public OwnerWatch(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    public Settings settings() {
        return settings;
    }

    public State state() {
        return state;
    }

    /** True while guests may be placed here: the owner is away. */
    public boolean acceptsGuests() {
        return state == State.LENT;
    }

    /**
     * One reading.
     *
     * @param nowMillis       the time of the reading (any monotonic millisecond clock)
     * @param lastInputMillis when the owner's most recent input happened, on the same clock; {@link Long#MIN_VALUE}
     *                        when there never was any or it is unknown
     * @param ownerLoadCores  the owner's own CPU load (all CPU use but the guests'), in cores; NaN when unknown
     * @return what to do with the guests now, if anything
     */
    public Optional<Decision> observe(long nowMillis, long lastInputMillis, double ownerLoadCores) {
        String why = null;
        if (lastInputMillis != Long.MIN_VALUE && nowMillis - lastInputMillis < settings.quiet().toMillis()) {
            why = "owner input";
        } else if (settings.loadThreshold() > 0 && ownerLoadCores > settings.loadThreshold()) {
            why = String.format(java.util.Locale.ROOT, "owner load %.2f cores over the threshold %s",
                    ownerLoadCores, io.herd.policy.Policy.formatCores(settings.loadThreshold()));
        }
        if (why != null) lastWhy = why;
        boolean active = why != null;
        switch (state) {
            case LENT -> {
                if (active) {
                    state = State.FROZEN;
                    frozenAt = nowMillis;
                    return Optional.of(new Decision(Action.FREEZE, "frozen: the owner is back (" + why + ")"));
                }
            }
            case FROZEN -> {
                if (!active) {
                    state = State.LENT;
                    return Optional.of(new Decision(Action.THAW, "thawed: the owner is idle again"));
                }
                if (nowMillis - frozenAt >= settings.grace().toMillis()) {
                    state = State.EVICTED;
                    return Optional.of(new Decision(Action.EVICT, "evicted: owner returned (" + lastWhy
                            + " for longer than the grace of " + format(settings.grace()) + ")"));
                }
            }
            case EVICTED -> {
                if (!active) state = State.LENT;   // nothing to thaw: guests are welcome again
            }
        }
        return Optional.empty();
    }

    /** A duration as people write it: 2m, 30s, 1500ms. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 60_000 == 0 && ms > 0) return ms / 60_000 + "m";
        if (ms % 1000 == 0) return ms / 1000 + "s";
        return ms + "ms";
    }

    /**
     * Parses {@code 2m}, {@code 30s}, {@code 500ms}, {@code 1h} or a plain number of seconds.
     *
     * @throws IllegalArgumentException naming what is allowed
     */
    public static Duration parseDuration(String text) {
        String t = text.strip().toLowerCase(java.util.Locale.ROOT);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]+)(ms|s|m|h)?").matcher(t);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 500ms, 30s, 2m or 1h)");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofSeconds(n);
        };
    }
}
