package io.herd.journal;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file staged to a job's sandbox, as snapshotted at submission into the home node's
 * content store: the job runs on exactly these bytes, whatever happens to the user's file later.
 *
 * @param path   relative to the job's directory, '/'-separated, never absolute, never {@code ..}
 * @param sha256 lower-case hex digest of the content (its name in the content store)
 * @param size   bytes
 * @param mode   permission bits (e.g. 0755 for a script)
 */
public record InputFile(String path, String sha256, long size, int mode) {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public InputFile {
        Objects.requireNonNull(path, "path");
        if (path.isEmpty() || path.startsWith("/") || path.contains("\0")) {
            throw new IllegalArgumentException("input path must be relative and non-empty: '" + path + "'");
        }
        for (String part : path.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("input path must be normalised: '" + path + "'");
            }
        }
        if (!SHA256.matcher(Objects.requireNonNull(sha256, "sha256")).matches()) {
            throw new IllegalArgumentException("input " + path + ": not a lower-case hex SHA-256: " + sha256);
        }
        if (size < 0) throw new IllegalArgumentException("input " + path + ": negative size " + size);
        if (mode < 0 || mode > 07777) throw new IllegalArgumentException("input " + path + ": bad mode " + Integer.toOctalString(mode));
    }
}
