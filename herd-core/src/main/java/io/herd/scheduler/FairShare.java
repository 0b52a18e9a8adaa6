package io.herd.scheduler;

import java.util.HashMap;
import java.util.Map;

/**
 * Per-user CPU usage that fades with time, and the priority it gives.
 *
 * <pre>
 *   usage(t)    = usage(t0) × 2^(−(t − t0) / halfLife)      core-seconds, decayed
 *   priority(u) = 1 / (1 + usage(u) / (shares(u) × 3600))   1 for a user with no recent usage
 * </pre>
 * So a user who burnt one core-hour per share lately has priority ½, and an
 * hour later (with the default half-life) ⅔. Priority only orders users; its
 * scale means nothing else. Time is passed in, never read: the same object
 * works on a virtual clock. Thread-safe: a home charges the jobs that end on
 * its RPC threads while its dispatcher reads priorities.
 */
public final class FairShare {

    /** Default half-life of usage: one hour. */
    public static final long DEFAULT_HALF_LIFE_MILLIS = 3_600_000L;
    /** Usage per share that halves a user's priority: one core-hour. */
    public static final double CORE_SECONDS_PER_SHARE = 3600.0;

    private final long halfLifeMillis;
    private final Map<String, Account> accounts = new HashMap<>();
    private final Map<String, Double> shares = new HashMap<>();

    private static final class Account {
        double usage;
        long at;
    }

    public FairShare() {
        this(DEFAULT_HALF_LIFE_MILLIS);
    }

    public FairShare(long halfLifeMillis) {
        if (halfLifeMillis <= 0) throw new IllegalArgumentException("half-life must be positive, got " + halfLifeMillis);
        this.halfLifeMillis = halfLifeMillis;
    }

    public long halfLifeMillis() {
        return halfLifeMillis;
    }

    /**
     * Adds CPU used by {@code user}. A time earlier than the account's last
     * update is taken as that time (an account's clock never runs backwards).
     */
    public synchronized void charge(String user, double coreSeconds, long nowMillis) {
        if (!(coreSeconds >= 0) || Double.isInfinite(coreSeconds)) {
            throw new IllegalArgumentException("core-seconds must be finite and not negative, got " + coreSeconds);
        }
        Account a = accounts.computeIfAbsent(user, u -> {
            Account fresh = new Account();
            fresh.at = nowMillis;
            return fresh;
        });
        a.usage = decayed(a, nowMillis) + coreSeconds;
        a.at = Math.max(a.at, nowMillis);
    }

    /** Decayed usage in core-seconds; 0 for a user never charged. */
    public synchronized double usage(String user, long nowMillis) {
        Account a = accounts.get(user);
        return a == null ? 0 : decayed(a, nowMillis);
    }

    /** In (0, 1]; higher runs first. */
    public synchronized double priority(String user, long nowMillis) {
        return priority(usage(user, nowMillis), shares(user));
    }

    /** Gives {@code user} this many shares (default 1): twice the shares, twice the usage for the same priority. */
    public synchronized void setShares(String user, double shares) {
        if (!(shares > 0) || Double.isInfinite(shares)) throw new IllegalArgumentException("shares must be positive, got " + shares);
        this.shares.put(user, shares);
    }

    public synchronized double shares(String user) {
        return shares.getOrDefault(user, 1.0);
    }

    static double priority(double usage, double shares) {
        return 1.0 / (1.0 + usage / (shares * CORE_SECONDS_PER_SHARE));
    }

    private double decayed(Account a, long nowMillis) {
        long dt = nowMillis - a.at;
        return dt <= 0 ? a.usage : a.usage * Math.pow(0.5, (double) dt / halfLifeMillis);
    }
}
