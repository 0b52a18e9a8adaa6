package io.herd.transfer;

import io.herd.transfer.Manifest.FileEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;

/**
 * Lays a job's staged inputs out in its sandbox directory on the host.
 *
 * <p>A hard link shares the blob's inode, and so its permission bits, with the store and with
 * every other sandbox linking it. Linked inputs are therefore read-only ({@code 0444}, the
 * store's mode): a job that changes an input must write a new file or rename over it (which
 * the writable sandbox allows), and an in-place write fails instead of corrupting the cached
 * copy that other jobs share. Inputs with an execute bit are copied with their exact mode (a
 * shared inode cannot be executable for one job and not for another), and so is everything
 * when links are impossible (store and sandbox on different file systems) or when the caller
 * asks for {@link Inputs#COPIED}.
 *
 * <p>The caller pins the manifest's blobs for the job's lifetime ({@link ContentStore#pin});
 * a blob missing from the store fails materialisation with a message saying so.
 */
public final class SandboxFiles {

    /** How inputs appear in the sandbox. */
    public enum Inputs {
        /** Hard links to the store where possible (read-only, no copying, no extra disk), copies otherwise. */
        LINKED,
        /** Private copies with the exact modes: for jobs that write their inputs in place. */
        COPIED
    }

    private SandboxFiles() {}

    /** {@link #materialise(ContentStore, Manifest, Path, Inputs)} with {@link Inputs#LINKED}. */
    public static void materialise(ContentStore store, Manifest m, Path sandboxDir) throws IOException {
        materialise(store, m, sandboxDir, Inputs.LINKED);
    }

    /**
     * Creates each file of {@code m} at its relative path under {@code sandboxDir} (created if
     * missing), with the directories on the way. Refuses to write through a symbolic link or a
     * non-directory on the way; replaces a regular file or link already at a file's place, so
     * running it again after a failure is safe.
     */
    public static void materialise(ContentStore store, Manifest m, Path sandboxDir, Inputs how) throws IOException {
        Files.createDirectories(sandboxDir);
        Path root = sandboxDir.toRealPath();
        for (FileEntry e : m.files()) {
            Path target = FileOps.safeResolve(root, e.path(), true, "input");
            BasicFileAttributes there = FileOps.lstatOrNull(target);
            if (there != null) {
                if (there.isDirectory()) {
                    throw new UnsafePathException("input " + e.path() + " cannot be created: a directory of that name"
                            + " is already in the sandbox " + root);
                }
                Files.delete(target);
            }
            if (!store.has(e.sha256())) {
                throw missing(e);
            }
            boolean linked = how == Inputs.LINKED && (e.mode() & 0111) == 0 && link(store, e, target);
            if (!linked) {
                copy(store, e, target);
            }
        }
    }

    private static boolean link(ContentStore store, FileEntry e, Path target) throws IOException {
        Path blob = store.path(e.sha256());
        try {
            Files.createLink(target, blob);
        } catch (NoSuchFileException gone) {
            throw missing(e);
        } catch (FileAlreadyExistsException raced) {
            throw new UnsafePathException("input " + e.path() + " appeared in the sandbox while it was being created");
        } catch (IOException | UnsupportedOperationException crossDeviceOrUnsupported) {
            return false;
        }
        // A cheap check that catches a truncated or overwritten blob before the job reads it.
        if (Files.size(target) != e.size()) {
            Files.delete(target);
            store.discard(e.sha256());
            throw new ContentMismatchException("input " + e.path() + ": the host's cached copy is corrupt (wrong size);"
                    + " it has been deleted, stage the job again", e.sha256(), "");
        }
        return true;
    }

    private static void copy(ContentStore store, FileEntry e, Path target) throws IOException {
        Path temp = Files.createTempFile(target.getParent(), FileOps.TEMP_PREFIX, FileOps.TEMP_SUFFIX);
        boolean ok = false;
        try (InputStream in = store.open(e.sha256());
             FileChannel out = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            MessageDigest md = FileOps.sha256();
            byte[] buf = new byte[FileOps.CHUNK];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
                FileOps.writeFully(out, ByteBuffer.wrap(buf, 0, n));
            }
            String actual = FileOps.hex(md);
            if (!actual.equals(e.sha256())) {
                store.discard(e.sha256());
                throw new ContentMismatchException("input " + e.path() + ": the host's cached copy is corrupt;"
                        + " it has been deleted, stage the job again", e.sha256(), actual);
            }
            ok = true;
        } catch (NoSuchFileException gone) {
            throw missing(e);
        } finally {
            if (!ok) {
                Files.deleteIfExists(temp);
            }
        }
        try {
            Files.setPosixFilePermissions(temp, FileOps.perms(e.mode()));
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException ex) {
            Files.deleteIfExists(temp);
            throw ex;
        }
    }

    private static NoSuchFileException missing(FileEntry e) {
        return new NoSuchFileException(e.path(), null, "input " + e.path() + " (blob " + e.sha256()
                + ") is not in this host's content store; it was never staged or was evicted (pin a job's inputs"
                + " before staging them), stage the job again");
    }

    /**
     * Deletes a sandbox directory and everything in it, never following a symbolic link (a link
     * the job planted is removed, not its target). Directories the job made read-only are opened
     * up first. A missing directory is fine.
     */
    public static void delete(Path sandboxDir) throws IOException {
        if (FileOps.lstatOrNull(sandboxDir) == null) return;
        Files.walkFileTree(sandboxDir, new java.nio.file.SimpleFileVisitor<>() {
            @Override
            public java.nio.file.FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes a) throws IOException {
                Files.setPosixFilePermissions(dir, FileOps.perms(0700));
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult visitFile(Path file, BasicFileAttributes a) throws IOException {
                Files.deleteIfExists(file);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            @Override
            public java.nio.file.FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null) throw e;
                Files.deleteIfExists(dir);
                return java.nio.file.FileVisitResult.CONTINUE;
            }
        });
    }
}
