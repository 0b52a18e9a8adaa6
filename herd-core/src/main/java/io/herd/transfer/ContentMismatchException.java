package io.herd.transfer;

import java.io.IOException;

/** Bytes whose SHA-256 or length is not the one they were announced with; nothing was stored or written. */
public final class ContentMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String expected;
    private final String actual;

    public ContentMismatchException(String message, String expected, String actual) {
        super(message);
        this.expected = expected;
        this.actual = actual;
    }

    /** The announced SHA-256. */
    public String expected() {
        return expected;
    }

    /** The SHA-256 of the bytes that arrived (or "" when the length already differed). */
    public String actual() {
        return actual;
    }
}
