package io.herd.executor;

/**
 * A job could not be started on this host: its program is missing or not
 * executable, its working directory is missing, or the OS refused. The
 * message is meant for the user as it stands (it becomes the job's reason).
 */
public final class LaunchException extends Exception {
    private static final long serialVersionUID = 1L;

    public LaunchException(String message) {
        super(message);
    }

    public LaunchException(String message, Throwable cause) {
        super(message, cause);
    }
}
