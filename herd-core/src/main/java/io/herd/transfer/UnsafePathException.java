package io.herd.transfer;

import java.io.IOException;

/**
 * A path that would read or write outside the directory it belongs to ({@code ..}, an absolute
 * path, a symbolic link leading out, a directory replaced by a link). The message names the file.
 */
public final class UnsafePathException extends IOException {
    private static final long serialVersionUID = 1L;

    public UnsafePathException(String message) {
        super(message);
    }
}
