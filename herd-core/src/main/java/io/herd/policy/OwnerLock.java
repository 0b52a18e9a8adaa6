package io.herd.policy;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Properties;

/**
 * The owner's lock ({@code herd lock [--reason TEXT]} / {@code herd unlock}):
 * while locked the node takes no new guests, whatever the policy's
 * {@code accept} says. Guests already running go on (expelling them is
 * {@code herd expel}). Kept in the data directory as {@value #FILE}, so a
 * locked node stays locked across a restart; no file means unlocked.
 *
 * @param locked true while the owner keeps guests out
 * @param reason the owner's words ({@code --reason}), "" when none; one line, at most {@value #MAX_REASON} characters
 * @param by     who locked it (a user name)
 * @param since  when it was locked
 */
public record OwnerLock(boolean locked, String reason, String by, Instant since) {

    /** File name in the data directory. */
    public static final String FILE = "lock.properties";
    /** Longest reason kept. */
    public static final int MAX_REASON = 200;
    /** Not locked. */
    public static final OwnerLock UNLOCKED = new OwnerLock(false, "", "", Instant.EPOCH);

    public OwnerLock {
        reason = reason == null ? "" : reason;
        by = by == null ? "" : by;
        since = since == null ? Instant.EPOCH : since;
    }

    /**
     * A lock taken now.
     *
     * @throws IllegalArgumentException if the reason is too long or holds control characters
     */
    public static OwnerLock lockedBy(String by, String reason, Instant now) {
        String r = reason == null ? "" : reason.strip();
        if (r.length() > MAX_REASON) {
            throw new IllegalArgumentException("the reason has " + r.length() + " characters; at most " + MAX_REASON
                    + ", e.g. herd lock --reason \"rendering until Friday\"");
        }
        for (int i = 0; i < r.length(); i++) {
            if (Character.isISOControl(r.charAt(i))) {
                throw new IllegalArgumentException("the reason must be one line of text without control characters");
            }
        }
        return new OwnerLock(true, r, by, now);
    }

    /**
     * Reads the lock file; a missing file is {@link #UNLOCKED}.
     *
     * @throws IllegalArgumentException when the file cannot be understood (naming it)
     */
    public static OwnerLock load(Path file) throws IOException {
        String text = AtomicFiles.readOrNull(file);
        if (text == null) return UNLOCKED;
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
            boolean locked = Policy.parseYesNo("locked", p.getProperty("locked", "no"));
            if (!locked) return UNLOCKED;
            return new OwnerLock(true, p.getProperty("reason", ""), p.getProperty("by", ""),
                    Instant.ofEpochMilli(Long.parseLong(p.getProperty("since", "0").strip())));
        } catch (IllegalArgumentException | IOException e) {
            throw new IllegalArgumentException(file + " is not a valid lock file (" + e.getMessage()
                    + "); remove it or run `herd lock` / `herd unlock` again", e);
        }
    }

    /** Replaces the lock file atomically. */
    public void save(Path file) throws IOException {
        Properties p = new Properties();
        p.setProperty("locked", locked ? "yes" : "no");
        if (locked) {
            p.setProperty("reason", reason);
            p.setProperty("by", by);
            p.setProperty("since", Long.toString(since.toEpochMilli()));
        }
        java.io.StringWriter w = new java.io.StringWriter();
        p.store(w, "herd owner lock (herd lock / herd unlock)");
        AtomicFiles.write(file, w.toString());
    }
}
