package io.herd.security;

import java.util.Objects;

/**
 * The CA refused a join. The message is one line for the user of {@code herd join}: what went
 * wrong and what to do. {@link #reason()} lets the API layer carry the cause across the wire.
 */
public final class JoinRefusedException extends Exception {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        UNKNOWN_TOKEN,
        BAD_SECRET,
        EXPIRED,
        USED_UP,
        NAME_IN_USE,
        BAD_NAME,
        BAD_CSR
    }

    private final Reason reason;

    public JoinRefusedException(Reason reason, String message) {
        super(message);
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public Reason reason() {
        return reason;
    }
}
