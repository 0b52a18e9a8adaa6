package io.herd.journal;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * One file an attempt produced, as it will land under the job's working directory.
 *
 * @param path   relative, normalised ({@code a/b.png}); never absolute, never {@code ..}
 * @param sha256 lower-case hex digest of the content
 * @param size   bytes
 */
public record OutputFile(String path, String sha256, long size) {

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    public OutputFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(sha256, "sha256");
        if (path.isEmpty() || path.startsWith("/") || path.contains("\0")) {
            throw new IllegalArgumentException("output path must be relative and non-empty: '" + path + "'");
        }
        for (String part : path.split("/", -1)) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                throw new IllegalArgumentException("output path must be normalised, without '.', '..' or '//': '" + path + "'");
            }
        }
        if (!SHA256.matcher(sha256).matches()) {
            throw new IllegalArgumentException("sha256 must be 64 lower-case hex digits, got '" + sha256 + "'");
        }
        if (size < 0) throw new IllegalArgumentException("size must not be negative, got " + size);
    }
}
