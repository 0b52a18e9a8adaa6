package io.herd.transfer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A job's files: relative path, content hash, size and permission bits of each, sorted by path.
 * The same type describes the inputs staged to a host and the outputs coming home. Every entry
 * is validated on construction, so a manifest decoded from the wire is as safe as a scanned one.
 */
public record Manifest(List<FileEntry> files) {

    /**
     * One file.
     *
     * @param path   relative to the job's directory, '/'-separated, no '.', '..' or empty components
     * @param sha256 lowercase hex SHA-256 of the content
     * @param size   length in bytes
     * @param mode   unix permission bits (0 to 0777; setuid, setgid and sticky are never carried)
     */
    public record FileEntry(String path, String sha256, long size, int mode) {
        public FileEntry {
            String why = FileOps.unsafeReason(path);
            if (why != null) {
                throw new IllegalArgumentException("file " + FileOps.abbreviate(path) + " refused: " + why);
            }
            FileOps.requireSha256(sha256);
            if (size < 0) {
                throw new IllegalArgumentException("file " + path + ": negative size " + size);
            }
            if (mode < 0 || mode > 0777) {
                throw new IllegalArgumentException("file " + path + ": mode " + Integer.toOctalString(mode)
                        + " is not a set of permission bits (0 to 0777)");
            }
        }
    }

    public static final Manifest EMPTY = new Manifest(List.of());

    public Manifest {
        TreeMap<String, FileEntry> byPath = new TreeMap<>();
        for (FileEntry e : files) {
            if (byPath.put(e.path(), e) != null) {
                throw new IllegalArgumentException("file " + e.path() + " appears twice in one manifest");
            }
        }
        // A path that is both a file and a directory (a and a/b) cannot be materialised.
        // In sorted order, a directory's entries follow it directly after "a/" sorts in.
        for (String p : byPath.keySet()) {
            String under = byPath.ceilingKey(p + "/");
            if (under != null && under.startsWith(p + "/")) {
                throw new IllegalArgumentException("file " + p + " is also a directory holding " + under);
            }
        }
        files = List.copyOf(byPath.values());
    }

    /** Sum of the files' sizes. */
    public long totalBytes() {
        long total = 0;
        for (FileEntry e : files) {
            total += e.size();
        }
        return total;
    }

    /** The distinct content hashes, in path order (two files with the same content share one blob). */
    public Set<String> hashes() {
        Set<String> out = new LinkedHashSet<>();
        for (FileEntry e : files) {
            out.add(e.sha256());
        }
        return out;
    }

    public Optional<FileEntry> entry(String path) {
        for (FileEntry e : files) {
            if (e.path().equals(path)) {
                return Optional.of(e);
            }
        }
        return Optional.empty();
    }

    Map<String, FileEntry> byPath() {
        Map<String, FileEntry> out = new TreeMap<>();
        for (FileEntry e : files) {
            out.put(e.path(), e);
        }
        return out;
    }

    /**
     * Hashes the named files. Each may be relative to {@code baseDir} or absolute, and must lie
     * under it; a directory stands for every file below it. Refused, with the file named: a
     * {@code ..} component, a path outside {@code baseDir}, a symbolic link resolving outside it
     * (a link inside it is staged as the file it points to, under the link's name), a symbolic
     * link to a directory met inside a named directory, anything that is not a regular file.
     */
    public static Manifest scan(Path baseDir, List<Path> files) throws IOException {
        return scan(baseDir, files, (real, a) -> FileOps.hash(real));
    }

    /**
     * As {@link #scan}, also copying each file's bytes into {@code store} while hashing them (one
     * read per file), so the job later runs on exactly the bytes hashed here whatever happens to
     * the user's files. A file the cache has seen with the same size, modification time and inode,
     * whose blob the store still holds, is not read again: 400 jobs naming the same 50 MB scene
     * read it once. Blobs are not pinned here; the caller pins what it keeps.
     */
    public static Manifest snapshot(Path baseDir, List<Path> files, ContentStore store, SnapshotCache cache) throws IOException {
        return scan(baseDir, files, (real, a) -> {
            String known = cache.lookup(real, a);
            if (known != null && store.has(known)) return new FileOps.Hashed(known, a.size());
            String sha = store.put(real);
            long size = Files.size(store.path(sha));
            cache.remember(real, a, sha, size);
            return new FileOps.Hashed(sha, size);
        });
    }

    /** Hashes one regular file (already resolved and checked to be inside the job's directory). */
    @FunctionalInterface
    interface Hasher {
        FileOps.Hashed hash(Path real, BasicFileAttributes attrs) throws IOException;
    }

    private static Manifest scan(Path baseDir, List<Path> files, Hasher hasher) throws IOException {
        Path base = baseDir.toAbsolutePath().normalize();
        Path realBase;
        try {
            realBase = base.toRealPath();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(baseDir.toString(), null, "the job's directory " + baseDir + " does not exist");
        }
        Map<String, FileEntry> out = new TreeMap<>();
        for (Path named : files) {
            for (Path part : named) {
                if (part.toString().equals("..")) {
                    throw new UnsafePathException("input " + named + ": '..' is not allowed in staged paths;"
                            + " name files under " + base + " without going up");
                }
            }
            Path file = base.resolve(named).normalize();
            if (!file.startsWith(base)) {
                throw new UnsafePathException("input " + named + " is outside the job's directory " + base
                        + "; herd stages only files under it (copy the file there, or run from a directory that holds it)");
            }
            BasicFileAttributes a;
            try {
                a = FileOps.lstat(file);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(named.toString(), null, "input " + named + " does not exist");
            }
            if (a.isDirectory()) {
                addTree(realBase, base, file, named, out, hasher);
            } else {
                addFile(realBase, base, file, named, a, out, hasher);
            }
        }
        return new Manifest(new ArrayList<>(out.values()));
    }

    private static void addTree(Path realBase, Path base, Path dir, Path named, Map<String, FileEntry> out, Hasher hasher)
            throws IOException {
        checkInside(realBase, base, dir, named);
        List<Path> below;
        try (Stream<Path> walk = Files.walk(dir)) { // does not follow links
            below = walk.sorted(Comparator.naturalOrder()).toList();
        }
        for (Path p : below) {
            BasicFileAttributes a = FileOps.lstat(p);
            if (a.isDirectory()) {
                continue;
            }
            if (a.isSymbolicLink() && Files.isDirectory(p)) {
                throw new UnsafePathException("input " + base.relativize(p) + " is a symbolic link to a directory;"
                        + " herd does not follow those inside a staged directory (name the directory itself)");
            }
            addFile(realBase, base, p, base.relativize(p), a, out, hasher);
        }
    }

    private static void addFile(Path realBase, Path base, Path file, Path named, BasicFileAttributes a,
                                Map<String, FileEntry> out, Hasher hasher) throws IOException {
        Path real = checkInside(realBase, base, file, named);
        BasicFileAttributes target = a.isSymbolicLink() ? Files.readAttributes(real, BasicFileAttributes.class) : a;
        if (!target.isRegularFile()) {
            throw new UnsafePathException("input " + named + " is not a regular file (a directory link, device,"
                    + " pipe or socket); herd stages regular files only");
        }
        String rel = relativePath(base, file);
        if (out.containsKey(rel)) {
            return;
        }
        FileOps.Hashed h = hasher.hash(real, target);
        int mode = FileOps.mode(Files.getPosixFilePermissions(real));
        out.put(rel, new FileEntry(rel, h.sha256(), h.size(), mode));
    }

    /** Resolves every link on the way; the result must still be under the job's directory. */
    private static Path checkInside(Path realBase, Path base, Path file, Path named) throws IOException {
        Path real;
        try {
            real = file.toRealPath();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(named.toString(), null,
                    "input " + named + " is a symbolic link to " + e.getFile() + ", which does not exist");
        }
        if (!real.startsWith(realBase)) {
            boolean link = Files.isSymbolicLink(file);
            throw new UnsafePathException("input " + named + (link ? " is a symbolic link to " : " resolves to ")
                    + real + ", outside the job's directory " + base
                    + "; herd does not stage files outside it (copy the file in instead of linking)");
        }
        return real;
    }

    private static String relativePath(Path base, Path file) {
        Path rel = base.relativize(file);
        StringBuilder sb = new StringBuilder();
        for (Path part : rel) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }
}
