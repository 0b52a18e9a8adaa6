package io.herd.owner;

/**
 * A source of the owner's input events. The monitor reads {@link #lastInputMillis()}
 * on every round (it must be cheap and must not throw); a source that can tell
 * when input happens ({@link #notifies()}) also calls back at once, so the
 * monitor need not poll it every few milliseconds while guests run.
 */
public interface OwnerInput {

    /** No input ever seen. */
    long NEVER = Long.MIN_VALUE;

    /**
     * When the most recent input happened, in milliseconds of {@code System.nanoTime() / 1e6}
     * (a monotonic clock), or {@link #NEVER}.
     */
    long lastInputMillis();

    /**
     * True when this source calls the {@link #onInput} listener on every input as it happens;
     * false when it must be polled. A source that cannot watch (no device, no such directory)
     * and will never report input may also answer true.
     */
    default boolean notifies() {
        return false;
    }

    /**
     * Sets the listener called on the source's own thread after each input is recorded (so
     * {@link #lastInputMillis()} already shows it). It must return quickly. Sources that
     * do not notify ignore it.
     */
    default void onInput(Runnable listener) {
    }

    /** Stops any threads the source runs. */
    default void close() {
    }

    /** Monotonic milliseconds, the clock of {@link #lastInputMillis()}. */
    static long nowMillis() {
        return System.nanoTime() / 1_000_000;
    }
}
