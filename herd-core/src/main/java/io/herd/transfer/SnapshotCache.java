package io.herd.transfer;

import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Remembers the SHA-256 of files recently snapshotted by {@link Manifest#snapshot}, keyed by
 * their real path and trusted while the file's size, modification time and inode are unchanged
 * (the test make and rsync use). Bounded: the least recently used entries are forgotten.
 * Thread-safe.
 */
public final class SnapshotCache {
    private record Stamp(long size, long mtimeNanos, Object fileKey) {}

    private record Known(Stamp stamp, String sha256) {}

    private final Map<Path, Known> entries;

    public SnapshotCache(int maxEntries) {
        if (maxEntries < 1) throw new IllegalArgumentException("maxEntries must be at least 1");
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Path, Known> eldest) {
                return size() > maxEntries;
            }
        };
    }

    private static Stamp stamp(BasicFileAttributes a) {
        return new Stamp(a.size(), a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS), a.fileKey());
    }

    /** The hash recorded for this file, or null when unknown or the file changed since. */
    synchronized String lookup(Path real, BasicFileAttributes a) {
        Known k = entries.get(real);
        return k != null && Objects.equals(k.stamp(), stamp(a)) ? k.sha256() : null;
    }

    /** Records the hash of the bytes read; ignored when they were not the size the attributes said (the file changed meanwhile). */
    synchronized void remember(Path real, BasicFileAttributes a, String sha256, long bytesRead) {
        if (bytesRead == a.size()) entries.put(real, new Known(stamp(a), sha256));
        else entries.remove(real);
    }

    synchronized int size() {
        return entries.size();
    }
}
