package io.herd.node;

import java.util.OptionalLong;

/**
 * Tells when a periodic thread has stopped running: its task calls {@link #beat} each time it
 * runs, and a watcher on another thread calls {@link #check} now and then. A stall longer than
 * the limit is reported once, with its length so far, and again only after the thread has run
 * again and stalled anew. Pure and clock-injected (nanosecond readings from the caller).
 */
final class StallWatch {
    private final long limitNanos;
    private long lastBeat;
    private boolean reported;

    StallWatch(long limitNanos, long nowNanos) {
        if (limitNanos <= 0) throw new IllegalArgumentException("limit must be positive: " + limitNanos);
        this.limitNanos = limitNanos;
        this.lastBeat = nowNanos;
    }

    synchronized void beat(long nowNanos) {
        lastBeat = nowNanos;
        reported = false;
    }

    /** What the log says of a stall of {@code thread} (may be null: never started) lasting {@code nanos}. */
    static String report(String what, long nanos, Thread thread) {
        StringBuilder b = new StringBuilder(String.format(java.util.Locale.ROOT, "%s has not run for %.1f s", what, nanos / 1e9));
        if (thread == null || !thread.isAlive()) return b.append("; its thread is gone").toString();
        b.append("; ").append(thread.getName()).append(" is ").append(thread.getState()).append(" at:");
        for (StackTraceElement e : thread.getStackTrace()) b.append("\n\tat ").append(e);
        return b.toString();
    }

    /** The stall's length if the thread has not run for longer than the limit and this stall is not yet reported. */
    synchronized OptionalLong check(long nowNanos) {
        long since = nowNanos - lastBeat;
        if (since <= limitNanos || reported) return OptionalLong.empty();
        reported = true;
        return OptionalLong.of(since);
    }
}
