package io.herd.transfer;

import java.io.IOException;
import java.util.List;

/**
 * Outputs that would replace different files already at home, refused under
 * {@link CollisionPolicy#FAIL}. Thrown before any of the job's outputs is written.
 */
public final class OutputCollisionException extends IOException {
    private static final long serialVersionUID = 1L;

    private final List<String> paths;

    public OutputCollisionException(String message, List<String> paths) {
        super(message);
        this.paths = List.copyOf(paths);
    }

    /** The colliding outputs' relative paths. */
    public List<String> paths() {
        return paths;
    }
}
