package io.herd.transfer;

import io.herd.transfer.Manifest.FileEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * A job's outputs: found in its sandbox on the host after it ends ({@link #changed}), and
 * written into the user's directory at home ({@link #commitInto}).
 */
public final class OutputCollector {

    /** A file in the sandbox that will not come home, and why. */
    public record Rejected(String path, String reason) {}

    /** The outputs to bring home (sorted by path) and the files refused. */
    public record Changes(List<FileEntry> files, List<Rejected> rejected) {
        public Changes {
            files = List.copyOf(files);
            rejected = List.copyOf(rejected);
        }

        /** The outputs as a manifest (for the wire). */
        public Manifest manifest() {
            return new Manifest(files);
        }
    }

    /** Commits to one directory are serialised in this process, so check-then-write is atomic among jobs. */
    private static final Object[] DIR_LOCKS = new Object[64];

    static {
        for (int i = 0; i < DIR_LOCKS.length; i++) {
            DIR_LOCKS[i] = new Object();
        }
    }

    private OutputCollector() {}

    /**
     * The regular files in {@code sandboxDir} that are new or differ (size or hash) from the
     * job's inputs, plus those matching an {@code outputGlobs} pattern (relative glob syntax of
     * {@link java.nio.file.FileSystem#getPathMatcher}, e.g. {@code *.png}, {@code out/**}) even
     * when unchanged. Never follows a symbolic link: links (and devices, pipes, sockets,
     * unreadable files) are reported in {@link Changes#rejected()} instead.
     */
    public static Changes changed(Path sandboxDir, Manifest inputs, List<String> outputGlobs) throws IOException {
        Path root = sandboxDir.toRealPath();
        List<PathMatcher> globs = new ArrayList<>();
        for (String g : outputGlobs) {
            globs.add(compile(g));
        }
        Map<String, FileEntry> staged = inputs.byPath();
        List<FileEntry> files = new ArrayList<>();
        List<Rejected> rejected = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path p, BasicFileAttributes a) throws IOException {
                String rel = relative(root, p);
                if (a.isSymbolicLink()) {
                    String to;
                    try {
                        to = Files.readSymbolicLink(p).toString();
                    } catch (IOException e) {
                        to = "?";
                    }
                    rejected.add(new Rejected(rel, "a symbolic link (to " + to + "); herd brings back regular files only"));
                    return FileVisitResult.CONTINUE;
                }
                if (!a.isRegularFile()) {
                    rejected.add(new Rejected(rel, "not a regular file (device, pipe or socket)"));
                    return FileVisitResult.CONTINUE;
                }
                String why = FileOps.unsafeReason(rel);
                if (why != null) {
                    rejected.add(new Rejected(rel, why));
                    return FileVisitResult.CONTINUE;
                }
                FileEntry input = staged.get(rel);
                boolean wanted = matches(globs, rel);
                FileOps.Hashed h;
                int mode;
                try {
                    h = FileOps.hash(p);
                    mode = FileOps.modeOf(p);
                } catch (IOException e) {
                    rejected.add(new Rejected(rel, "unreadable: " + e.getMessage()));
                    return FileVisitResult.CONTINUE;
                }
                if (input == null || wanted || !input.sha256().equals(h.sha256()) || input.size() != h.size()) {
                    files.add(new FileEntry(rel, h.sha256(), h.size(), mode));
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path p, IOException e) {
                rejected.add(new Rejected(relative(root, p), "unreadable: " + e.getMessage()));
                return FileVisitResult.CONTINUE;
            }
        });
        files.sort(Comparator.comparing(FileEntry::path));
        rejected.sort(Comparator.comparing(Rejected::path));
        return new Changes(files, rejected);
    }

    private static PathMatcher compile(String glob) {
        if (glob == null || glob.isEmpty()) {
            throw new IllegalArgumentException("an output pattern is empty");
        }
        if (glob.startsWith("/")) {
            throw new IllegalArgumentException("output pattern " + glob + " is absolute;"
                    + " patterns are relative to the job's directory");
        }
        for (String part : glob.split("/")) {
            if (part.equals("..")) {
                throw new IllegalArgumentException("output pattern " + glob + " leaves the job's directory ('..')");
            }
        }
        return FileSystems.getDefault().getPathMatcher("glob:" + glob);
    }

    private static boolean matches(List<PathMatcher> globs, String rel) {
        Path p = Path.of(rel);
        for (PathMatcher g : globs) {
            if (g.matches(p)) {
                return true;
            }
        }
        return false;
    }

    private static String relative(Path root, Path p) {
        StringBuilder sb = new StringBuilder();
        for (Path part : root.relativize(p)) {
            if (sb.length() > 0) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    /** {@link #commitInto(Path, List, Manifest, Function, CollisionPolicy)} without a staged manifest. */
    public static List<Path> commitInto(Path destDir, List<FileEntry> files, Function<String, Path> blobSource,
                                        CollisionPolicy policy) throws IOException {
        return commitInto(destDir, files, Manifest.EMPTY, blobSource, policy);
    }

    /**
     * Writes each output under {@code destDir} at its relative path. Each file is written to a
     * temp file in its own directory, checked against its hash, fsynced, given its mode and
     * then renamed (or, when it must not replace anything, hard-linked) into place, so a reader
     * sees the old file, no file, or the whole new one, never a partial one.
     *
     * <p>Collisions are decided before anything is written (see {@link CollisionPolicy}); under
     * {@link CollisionPolicy#FAIL} one collision means no output of the job is written. Writes
     * refuse to pass through symbolic links or non-directories in {@code destDir}. Commits into
     * one directory are serialised within this process; this guards against other jobs and
     * mistakes, not against a hostile user racing the check with their own renames, so run it
     * with the permissions of the directory's owner.
     *
     * @param staged     the job's inputs as staged (its files may be replaced: see {@link CollisionPolicy}), or {@link Manifest#EMPTY}
     * @param blobSource the local file holding each output's content, by SHA-256
     * @return where each output now is (its own path, or {@code name.N} under RENAME), in the order given
     */
    public static List<Path> commitInto(Path destDir, List<FileEntry> files, Manifest staged,
                                        Function<String, Path> blobSource, CollisionPolicy policy) throws IOException {
        Objects.requireNonNull(policy, "policy");
        new Manifest(files); // refuses duplicate names and a name that is both a file and a directory
        Path root = destDir.toRealPath();
        if (!Files.isDirectory(root)) {
            throw new NoSuchFileException(destDir.toString(), null, destDir + " is not a directory");
        }
        Map<String, FileEntry> base = staged.byPath();
        synchronized (DIR_LOCKS[Math.floorMod(root.hashCode(), DIR_LOCKS.length)]) {
            record Step(FileEntry entry, Path target, boolean write, boolean replace) {}
            List<Step> steps = new ArrayList<>();
            List<String> collisions = new ArrayList<>();
            Set<Path> claimed = new HashSet<>();
            for (FileEntry e : files) {
                claimed.add(root.resolve(e.path()));
            }
            for (FileEntry e : files) {
                Path target = FileOps.safeResolve(root, e.path(), false, "output");
                Existing now = inspect(target, e);
                switch (now.kind) {
                    case ABSENT -> steps.add(new Step(e, target, true, false));
                    case SAME -> steps.add(new Step(e, target, false, false));
                    case DIRECTORY -> throw new UnsafePathException("output " + e.path()
                            + " cannot be written: a directory of that name exists in " + root);
                    case DIFFERENT -> {
                        FileEntry given = base.get(e.path());
                        if (given != null && given.sha256().equals(now.sha256)) {
                            steps.add(new Step(e, target, true, true));
                            continue;
                        }
                        switch (policy) {
                            case OVERWRITE -> steps.add(new Step(e, target, true, true));
                            case FAIL -> collisions.add(e.path());
                            case RENAME -> {
                                for (int k = 1; ; k++) {
                                    Path alt = target.resolveSibling(target.getFileName() + "." + k);
                                    if (claimed.contains(alt)) {
                                        continue;
                                    }
                                    Existing there = inspect(alt, e);
                                    if (there.kind == Kind.ABSENT || there.kind == Kind.SAME) {
                                        claimed.add(alt);
                                        steps.add(new Step(e, alt, there.kind == Kind.ABSENT, false));
                                        break;
                                    }
                                }
                            }
                        }
                    }
                }
            }
            if (!collisions.isEmpty()) {
                String first = collisions.get(0);
                String more = collisions.size() == 1 ? "" : " (and " + (collisions.size() - 1) + " more: "
                        + String.join(", ", collisions.subList(1, collisions.size())) + ")";
                throw new OutputCollisionException("output " + first + " already exists and differs" + more
                        + "; another job (or you) wrote it after this job's inputs were staged."
                        + " None of this job's outputs were written: move the file away and run the job again,"
                        + " or choose another policy (herd run --on-collision rename|overwrite)", collisions);
            }
            List<Path> out = new ArrayList<>();
            for (Step s : steps) {
                if (s.write()) {
                    String rel = root.relativize(s.target()).toString();
                    FileOps.safeResolve(root, rel, true, "output");
                    write(s.entry(), s.target(), blobSource, s.replace());
                }
                out.add(s.target());
            }
            return out;
        }
    }

    private enum Kind { ABSENT, SAME, DIFFERENT, DIRECTORY }

    private record Existing(Kind kind, String sha256) {}

    private static Existing inspect(Path target, FileEntry e) throws IOException {
        BasicFileAttributes a = FileOps.lstatOrNull(target);
        if (a == null) {
            return new Existing(Kind.ABSENT, null);
        }
        if (a.isDirectory()) {
            return new Existing(Kind.DIRECTORY, null);
        }
        if (!a.isRegularFile()) {
            return new Existing(Kind.DIFFERENT, null); // a link or special file: never the job's own input
        }
        String sha = FileOps.hash(target).sha256();
        return new Existing(sha.equals(e.sha256()) && a.size() == e.size() ? Kind.SAME : Kind.DIFFERENT, sha);
    }

    private static void write(FileEntry e, Path target, Function<String, Path> blobSource, boolean replace)
            throws IOException {
        Path src = blobSource.apply(e.sha256());
        if (src == null) {
            throw new NoSuchFileException(e.path(), null, "output " + e.path() + ": its content (blob " + e.sha256()
                    + ") is not available at home; fetch it from the host again");
        }
        Path dir = target.getParent();
        Path temp = temp(target);
        boolean done = false;
        try {
            try (InputStream in = Files.newInputStream(src);
                 FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                MessageDigest md = FileOps.sha256();
                byte[] buf = new byte[FileOps.CHUNK];
                long size = 0;
                for (int n; (n = in.read(buf)) > 0; ) {
                    md.update(buf, 0, n);
                    FileOps.writeFully(out, ByteBuffer.wrap(buf, 0, n));
                    size += n;
                }
                String actual = FileOps.hex(md);
                if (size != e.size() || !actual.equals(e.sha256())) {
                    throw new ContentMismatchException("output " + e.path() + ": its content at home (" + src
                            + ") is corrupt; nothing was written, fetch it from the host again", e.sha256(), actual);
                }
                out.force(true);
            } catch (NoSuchFileException gone) {
                throw new NoSuchFileException(e.path(), null, "output " + e.path() + ": its content " + src
                        + " is missing; fetch it from the host again");
            }
            Files.setPosixFilePermissions(temp, FileOps.perms(e.mode()));
            if (replace) {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                done = true;
            } else {
                publishNew(e, temp, target);
            }
        } finally {
            if (!done) {
                Files.deleteIfExists(temp);
            }
        }
        FileOps.syncDirectory(dir);
    }

    /**
     * The temp file an output is written to before it is published: named after its target
     * ({@code .herd-NAME.part}), so a commit cut short by a crash leaves a temp that the commit
     * of the same output, when the job's next attempt comes home, truncates and renames away:
     * nothing half-written outlives the job. Anything but a regular file at that name (a planted
     * link) is removed first, never followed. Names too long for that get a random temp.
     */
    static Path temp(Path target) throws IOException {
        Path dir = target.getParent();
        String name = FileOps.TEMP_PREFIX + target.getFileName() + FileOps.TEMP_SUFFIX;
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 255) {
            return Files.createTempFile(dir, FileOps.TEMP_PREFIX, FileOps.TEMP_SUFFIX);
        }
        Path temp = dir.resolve(name);
        BasicFileAttributes a = FileOps.lstatOrNull(temp);
        if (a != null && !a.isRegularFile()) {
            if (a.isDirectory()) return Files.createTempFile(dir, FileOps.TEMP_PREFIX, FileOps.TEMP_SUFFIX);
            Files.delete(temp);
        }
        try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            // created (or truncated) empty, owner-only until the content is in
        }
        Files.setPosixFilePermissions(temp, FileOps.perms(0600));
        return temp;
    }

    /** Puts temp at target only if nothing is there: link(2) fails instead of replacing, unlike rename(2). */
    private static void publishNew(FileEntry e, Path temp, Path target) throws IOException {
        try {
            Files.createLink(target, temp);
        } catch (FileAlreadyExistsException raced) {
            if (inspect(target, e).kind == Kind.SAME) {
                return;
            }
            throw new OutputCollisionException("output " + e.path() + " already exists and differs; it appeared"
                    + " while this job's outputs were being written. Move it away and run the job again",
                    List.of(e.path()));
        } catch (IOException | UnsupportedOperationException noHardLinks) {
            // A file system without hard links: check, then rename (a narrow race, only there).
            if (FileOps.lstatOrNull(target) != null) {
                throw new OutputCollisionException("output " + e.path() + " already exists and differs; it appeared"
                        + " while this job's outputs were being written. Move it away and run the job again",
                        List.of(e.path()));
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        }
    }
}
