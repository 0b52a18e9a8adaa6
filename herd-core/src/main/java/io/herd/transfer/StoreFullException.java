package io.herd.transfer;

import java.io.IOException;

/** A blob that does not fit: larger than the whole content store, or the host's disk is full. */
public final class StoreFullException extends IOException {
    private static final long serialVersionUID = 1L;

    public StoreFullException(String message) {
        super(message);
    }

    public StoreFullException(String message, Throwable cause) {
        super(message, cause);
    }
}
