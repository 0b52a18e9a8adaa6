package io.herd.owner;

/**
 * A source of the owner's input events, read by the monitor every few
 * milliseconds: it must be cheap and must not throw.
 */
public interface OwnerInput {

    /** No input ever seen. */
    long NEVER = Long.MIN_VALUE;

    /**
     * When the most recent input happened, in milliseconds of {@code System.nanoTime() / 1e6}
     * (a monotonic clock), or {@link #NEVER}.
     */
    long lastInputMillis();

    /** Stops any threads the source runs. */
    default void close() {
    }

    /** Monotonic milliseconds, the clock of {@link #lastInputMillis()}. */
    static long nowMillis() {
        return System.nanoTime() / 1_000_000;
    }
}
