package io.herd.transfer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's content-addressed blob cache: each blob is a read-only file named by the lowercase
 * hex SHA-256 of its bytes, {@code dir/ab/abcdef…}. Writes are streamed through the hash into
 * {@code dir/tmp/}, fsynced and renamed into place, so a blob file that exists is complete and
 * correct (a crash leaves at most a temp file, removed at the next start).
 *
 * <p>When the blobs exceed {@code maxBytes}, the least recently used unpinned ones are deleted.
 * "Use" is {@link #has}, {@link #path}, {@link #open} and {@link #put}; after a restart the order
 * is rebuilt from the files' modification times (the time they were stored), because touching
 * a blob's mtime would also change the mtime of every sandbox file hard-linked to it.
 * A job's inputs are {@linkplain #pin pinned} from admission to the end of the job; pins are
 * counted (two jobs, two pins) and may be taken before the blob arrives.
 *
 * <p>Thread-safe. Hashing and disk writes happen outside the store's lock; only the index
 * update, the final rename and eviction hold it.
 */
public final class ContentStore {
    private static final Logger log = LoggerFactory.getLogger(ContentStore.class);

    private final Path dir;
    private final Path tmp;
    private final long maxBytes;
    private final Object lock = new Object();
    /** sha → size, in access order: the first entry is the least recently used. */
    private final LinkedHashMap<String, Long> index = new LinkedHashMap<>(256, 0.75f, true);
    private final Map<String, Integer> pins = new HashMap<>();
    private long bytes;

    /**
     * Opens (or creates) the store in {@code dir}, owner-only, indexing the blobs already there.
     *
     * @param maxBytes the size the store is kept under by eviction; pinned blobs may exceed it
     */
    public ContentStore(Path dir, long maxBytes) throws IOException {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("content store size must be positive, got " + maxBytes);
        }
        this.dir = dir.toAbsolutePath();
        this.maxBytes = maxBytes;
        this.tmp = this.dir.resolve("tmp");
        Files.createDirectories(this.tmp);
        try {
            Files.setPosixFilePermissions(this.dir, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException ignored) {
            // Not a POSIX file system: nothing to tighten.
        }
        try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(tmp)) {
            for (Path p : leftovers) {
                Files.deleteIfExists(p);
            }
        }
        rebuildIndex();
    }

    private void rebuildIndex() throws IOException {
        record Found(String sha, long size, long mtime) {}
        List<Found> found = new ArrayList<>();
        try (DirectoryStream<Path> prefixes = Files.newDirectoryStream(dir)) {
            for (Path prefix : prefixes) {
                String p = prefix.getFileName().toString();
                if (p.length() != 2 || !Files.isDirectory(prefix, LinkOption.NOFOLLOW_LINKS)) {
                    continue;
                }
                try (DirectoryStream<Path> blobs = Files.newDirectoryStream(prefix)) {
                    for (Path blob : blobs) {
                        String name = blob.getFileName().toString();
                        if (!FileOps.isSha256(name) || !name.startsWith(p)) {
                            continue;
                        }
                        BasicFileAttributes a = FileOps.lstat(blob);
                        if (a.isRegularFile()) {
                            found.add(new Found(name, a.size(), a.lastModifiedTime().toMillis()));
                        }
                    }
                }
            }
        }
        found.sort(Comparator.comparingLong(Found::mtime).thenComparing(Found::sha));
        synchronized (lock) {
            for (Found f : found) {
                index.put(f.sha(), f.size());
                bytes += f.size();
            }
            evictLocked(null);
        }
    }

    /** The directory holding the blobs. */
    public Path dir() {
        return dir;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Total size of the blobs held. */
    public long usedBytes() {
        synchronized (lock) {
            return bytes;
        }
    }

    /** Number of blobs held. */
    public int count() {
        synchronized (lock) {
            return index.size();
        }
    }

    /** Whether the blob is here; counts as a use. */
    public boolean has(String sha) {
        FileOps.requireSha256(sha);
        synchronized (lock) {
            return index.get(sha) != null;
        }
    }

    /**
     * Where the blob's file is (or would be). Counts as a use when present. The file can be
     * evicted at any time unless the blob is pinned; prefer {@link #open} for reading.
     */
    public Path path(String sha) {
        FileOps.requireSha256(sha);
        synchronized (lock) {
            index.get(sha);
        }
        return blobPath(sha);
    }

    /** The blob's size in bytes. */
    long blobSize(String sha) throws NoSuchFileException {
        synchronized (lock) {
            Long size = index.get(sha);
            if (size == null) {
                throw new NoSuchFileException(blobPath(sha).toString(), null,
                        "blob " + sha + " is not in this node's content store");
            }
            return size;
        }
    }

    /** Opens the blob for reading; eviction cannot remove it between the check and the open. */
    public InputStream open(String sha) throws IOException {
        FileOps.requireSha256(sha);
        synchronized (lock) {
            if (index.get(sha) == null) {
                throw new NoSuchFileException(blobPath(sha).toString(), null,
                        "blob " + sha + " is not in this node's content store");
            }
            try {
                return Files.newInputStream(blobPath(sha), LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                dropLocked(sha);
                throw new NoSuchFileException(blobPath(sha).toString(), null,
                        "blob " + sha + " was deleted from the content store behind its back");
            }
        }
    }

    /** Stores the stream's bytes and returns their SHA-256. */
    public String put(InputStream in) throws IOException {
        try (Incoming w = incoming(null, -1)) {
            w.writeAll(in);
            return w.commit();
        }
    }

    /** Stores a copy of the file's bytes (a symbolic link is refused) and returns their SHA-256. */
    public String put(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return put(in);
        }
    }

    /**
     * Stores the stream's bytes if their SHA-256 is {@code sha}; otherwise deletes what was
     * written and throws {@link ContentMismatchException}.
     */
    public String putExpecting(String sha, InputStream in) throws IOException {
        FileOps.requireSha256(sha);
        try (Incoming w = incoming(sha, -1)) {
            w.writeAll(in);
            return w.commit();
        }
    }

    /** Keeps the blob from eviction until a matching {@link #unpin}; the blob need not be here yet. */
    public void pin(String sha) {
        FileOps.requireSha256(sha);
        synchronized (lock) {
            pins.merge(sha, 1, Integer::sum);
        }
    }

    public void unpin(String sha) {
        FileOps.requireSha256(sha);
        synchronized (lock) {
            Integer n = pins.get(sha);
            if (n == null) {
                throw new IllegalStateException("blob " + sha + " is not pinned");
            }
            if (n == 1) {
                pins.remove(sha);
                evictLocked(null);
            } else {
                pins.put(sha, n - 1);
            }
        }
    }

    public boolean isPinned(String sha) {
        synchronized (lock) {
            return pins.containsKey(sha);
        }
    }

    /**
     * Re-hashes the blob; a blob whose bytes no longer match its name (disk fault, or a guest
     * that wrote through its hard link) is deleted. Returns whether the blob is present and sound.
     */
    public boolean verify(String sha) throws IOException {
        FileOps.requireSha256(sha);
        FileOps.Hashed h;
        try (InputStream in = open(sha)) {
            h = FileOps.hash(in);
        } catch (NoSuchFileException e) {
            return false;
        }
        if (h.sha256().equals(sha)) {
            return true;
        }
        discard(sha);
        return false;
    }

    /** Deletes a blob found to be corrupt, pinned or not. */
    void discard(String sha) {
        log.warn("content store {}: blob {} is corrupt; deleted", dir, sha);
        synchronized (lock) {
            dropLocked(sha);
            try {
                Files.deleteIfExists(blobPath(sha));
            } catch (IOException e) {
                log.warn("could not delete corrupt blob {}: {}", sha, e.toString());
            }
        }
    }

    Path blobPath(String sha) {
        return dir.resolve(sha.substring(0, 2)).resolve(sha);
    }

    private void dropLocked(String sha) {
        Long size = index.remove(sha);
        if (size != null) {
            bytes -= size;
        }
    }

    private void evictLocked(String keep) {
        if (bytes <= maxBytes) {
            return;
        }
        for (Iterator<Map.Entry<String, Long>> it = index.entrySet().iterator(); it.hasNext() && bytes > maxBytes; ) {
            Map.Entry<String, Long> e = it.next();
            if (pins.containsKey(e.getKey()) || e.getKey().equals(keep)) {
                continue;
            }
            try {
                Files.deleteIfExists(blobPath(e.getKey()));
            } catch (IOException ex) {
                log.warn("content store {}: could not evict {}: {}", dir, e.getKey(), ex.toString());
                continue;
            }
            it.remove();
            bytes -= e.getValue();
        }
        if (bytes > maxBytes) {
            log.warn("content store {} holds {} bytes, over its {} byte limit: the rest is pinned by running jobs",
                    dir, bytes, maxBytes);
        }
    }

    /**
     * Starts a streamed write. {@code expectedSha} (nullable) and {@code expectedSize} (-1 when
     * unknown) are checked as bytes arrive and at {@link Incoming#commit()}.
     */
    Incoming incoming(String expectedSha, long expectedSize) throws IOException {
        if (expectedSize > maxBytes) {
            throw tooBig(expectedSize);
        }
        if (expectedSize > 0) {
            long usable = Files.getFileStore(tmp).getUsableSpace();
            if (usable < expectedSize) {
                throw new StoreFullException("the disk holding " + dir + " is full: a blob of " + expectedSize
                        + " bytes does not fit in the " + usable + " bytes left; free space or shrink the content store");
            }
        }
        return new Incoming(expectedSha, expectedSize);
    }

    private StoreFullException tooBig(long size) {
        return new StoreFullException("a blob of " + size + " bytes is larger than the whole content store ("
                + maxBytes + " bytes in " + dir + "); raise the store's size");
    }

    /** One blob being written: temp file, running hash, then verify + fsync + atomic rename. */
    final class Incoming implements AutoCloseable {
        private final String expectedSha;
        private final long expectedSize;
        private final Path temp;
        private final FileChannel ch;
        private final MessageDigest md = FileOps.sha256();
        private long size;
        private boolean finished;

        private Incoming(String expectedSha, long expectedSize) throws IOException {
            this.expectedSha = expectedSha;
            this.expectedSize = expectedSize;
            this.temp = Files.createTempFile(tmp, "put-", ".tmp");
            FileChannel c;
            try {
                c = FileChannel.open(temp, StandardOpenOption.WRITE);
            } catch (IOException e) {
                Files.deleteIfExists(temp);
                throw e;
            }
            this.ch = c;
        }

        long size() {
            return size;
        }

        void writeAll(InputStream in) throws IOException {
            byte[] buf = new byte[FileOps.CHUNK];
            for (int n; (n = in.read(buf)) > 0; ) {
                write(ByteBuffer.wrap(buf, 0, n));
            }
        }

        void write(ByteBuffer data) throws IOException {
            int n = data.remaining();
            if (expectedSize >= 0 && size + n > expectedSize) {
                abort();
                throw new ContentMismatchException("more bytes arrived than the " + expectedSize
                        + " announced for blob " + expectedSha + "; nothing was stored", String.valueOf(expectedSha), "");
            }
            if (size + n > maxBytes) {
                abort();
                throw tooBig(size + n);
            }
            md.update(data.duplicate());
            try {
                FileOps.writeFully(ch, data);
            } catch (IOException e) {
                abort();
                if (String.valueOf(e.getMessage()).contains("No space left")) {
                    throw new StoreFullException("the disk holding " + dir + " is full; free space or shrink the content store", e);
                }
                throw e;
            }
            size += n;
        }

        /** Verifies, makes durable and publishes the blob; returns its SHA-256. */
        String commit() throws IOException {
            String sha;
            try {
                ch.force(true);
                ch.close();
                sha = FileOps.hex(md);
                if (expectedSize >= 0 && size != expectedSize) {
                    throw new ContentMismatchException("blob " + expectedSha + " was announced as " + expectedSize
                            + " bytes but " + size + " arrived; nothing was stored", String.valueOf(expectedSha), "");
                }
                if (expectedSha != null && !expectedSha.equals(sha)) {
                    throw new ContentMismatchException("content does not match its expected SHA-256: expected "
                            + expectedSha + ", got " + sha + " (" + size + " bytes); nothing was stored", expectedSha, sha);
                }
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("r--r--r--"));
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
            Path target = blobPath(sha);
            Files.createDirectories(target.getParent());
            synchronized (lock) {
                finished = true;
                if (index.containsKey(sha) && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
                    index.get(sha);
                    Files.deleteIfExists(temp);
                    return sha;
                }
                try {
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    Files.deleteIfExists(temp);
                    throw e;
                }
                dropLocked(sha);
                index.put(sha, size);
                bytes += size;
                evictLocked(sha);
            }
            FileOps.syncDirectory(target.getParent());
            return sha;
        }

        void abort() {
            if (finished) {
                return;
            }
            finished = true;
            try {
                ch.close();
            } catch (IOException ignored) {
                // Deleting the file below is what matters.
            }
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                log.warn("could not delete temp file {}: {}", temp, e.toString());
            }
        }

        @Override
        public void close() {
            abort();
        }
    }
}
