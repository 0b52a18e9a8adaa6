package io.herd.journal;

/** The journal file cannot be used: unreadable, not a journal, too new, or the disk failed. */
public final class JournalException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public JournalException(String message) {
        super(message);
    }

    public JournalException(String message, Throwable cause) {
        super(message, cause);
    }
}
