package io.herd.owner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;

/**
 * The test input source: a file whose modification time changing (touch, a
 * write, being created) means "the owner pressed a key now". Point a daemon at
 * it with {@code -Dherd.ownerInput=FILE} (relative to the data directory).
 * Each read is one {@code stat}, cheap enough for the monitor's 10 ms polling,
 * so a touch is seen within one poll.
 */
public final class InputFile implements OwnerInput {

    private final Path file;
    private FileTime seen;
    private long last = NEVER;

    /** What the file shows when the watch starts is not input: only later changes are. */
    public InputFile(Path file) {
        this.file = file;
        this.seen = mtime();
    }

    public Path file() {
        return file;
    }

    @Override
    public synchronized long lastInputMillis() {
        FileTime t = mtime();
        if (t != null && !t.equals(seen)) last = OwnerInput.nowMillis();
        seen = t;
        return last;
    }

    private FileTime mtime() {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }
}
