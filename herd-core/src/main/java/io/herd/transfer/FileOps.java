package io.herd.transfer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.regex.Pattern;

/** Hashing, permission bits, durable writes and path rules shared by the package. */
final class FileOps {
    /** Transfer chunk and I/O buffer size: big enough to amortise per-message cost, small next to the 4 MB gRPC limit. */
    static final int CHUNK = 256 * 1024;
    /**
     * Temp files written beside their destination ({@code .herd-123.part}): hidden, short (a long
     * destination name cannot make them too long), and recognisable if a crash leaves one.
     */
    static final String TEMP_PREFIX = ".herd-";
    static final String TEMP_SUFFIX = ".part";

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final PosixFilePermission[] BITS = {
        PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
        PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
        PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
    };

    private FileOps() {}

    static boolean isSha256(String s) {
        return s != null && SHA256.matcher(s).matches();
    }

    static String requireSha256(String s) {
        if (!isSha256(s)) {
            throw new IllegalArgumentException("not a lowercase hex SHA-256: " + abbreviate(s));
        }
        return s;
    }

    static String abbreviate(String s) {
        if (s == null) {
            return "null";
        }
        return s.length() <= 80 ? "'" + s + "'" : "'" + s.substring(0, 77) + "...'";
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    static String hex(MessageDigest digest) {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** SHA-256 and length of a file's bytes, never following a symbolic link in the last component. */
    static Hashed hash(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return hash(in);
        }
    }

    static Hashed hash(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[CHUNK];
        long size = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            md.update(buf, 0, n);
            size += n;
        }
        return new Hashed(hex(md), size);
    }

    record Hashed(String sha256, long size) {}

    static int mode(Set<PosixFilePermission> perms) {
        int mode = 0;
        for (int i = 0; i < BITS.length; i++) {
            if (perms.contains(BITS[i])) {
                mode |= 1 << i;
            }
        }
        return mode;
    }

    static Set<PosixFilePermission> perms(int mode) {
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < BITS.length; i++) {
            if ((mode & (1 << i)) != 0) {
                perms.add(BITS[i]);
            }
        }
        return perms;
    }

    static int modeOf(Path file) throws IOException {
        return mode(Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS));
    }

    static BasicFileAttributes lstat(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    /** {@code lstat}, or null when nothing is there. */
    static BasicFileAttributes lstatOrNull(Path p) throws IOException {
        try {
            return lstat(p);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** Makes a rename or file creation in {@code dir} survive a power cut. Best effort. */
    static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // Some file systems refuse fsync on directories; the file itself is already synced.
        }
    }

    /**
     * Checks that a relative, '/'-separated path is safe to create under a directory: not empty,
     * not absolute, no empty, '.' or '..' component, no NUL. Returns null when safe, else why not.
     */
    static String unsafeReason(String path) {
        if (path == null || path.isEmpty()) {
            return "the path is empty";
        }
        if (path.indexOf('\0') >= 0) {
            return "the path contains a NUL character";
        }
        if (path.startsWith("/")) {
            return "the path is absolute";
        }
        if (path.length() > 4096) {
            return "the path is longer than 4096 characters";
        }
        for (String part : path.split("/", -1)) {
            if (part.isEmpty()) {
                return "the path has an empty component";
            }
            if (part.equals("..")) {
                return "'..' is not allowed in a staged path";
            }
            if (part.equals(".")) {
                return "'.' is not allowed in a staged path";
            }
            if (part.length() > 255) {
                return "a path component is longer than 255 characters";
            }
        }
        return null;
    }

    /**
     * {@code root.resolve(rel)} after checking that no directory between root and the file is a
     * symbolic link or a non-directory; creates missing directories when {@code create}. Returns
     * the file's path (the file itself is not checked).
     */
    static Path safeResolve(Path root, String rel, boolean create, String what) throws IOException {
        String why = unsafeReason(rel);
        if (why != null) {
            throw new UnsafePathException(what + " " + abbreviate(rel) + " was refused: " + why);
        }
        String[] parts = rel.split("/");
        Path dir = root;
        for (int i = 0; i < parts.length - 1; i++) {
            dir = dir.resolve(parts[i]);
            BasicFileAttributes a = lstatOrNull(dir);
            if (a == null) {
                if (!create) {
                    return root.resolve(rel);
                }
                try {
                    Files.createDirectory(dir);
                } catch (FileAlreadyExistsException raced) {
                    a = lstat(dir);
                    if (!a.isDirectory() || a.isSymbolicLink()) {
                        throw notADirectory(what, rel, root, dir, a);
                    }
                }
            } else if (!a.isDirectory() || a.isSymbolicLink()) {
                throw notADirectory(what, rel, root, dir, a);
            }
        }
        return root.resolve(rel);
    }

    private static UnsafePathException notADirectory(String what, String rel, Path root, Path dir, BasicFileAttributes a) {
        String kind = a.isSymbolicLink() ? "a symbolic link" : "not a directory";
        return new UnsafePathException(what + " " + rel + " was refused: " + root.relativize(dir)
                + " is " + kind + "; herd writes only through real directories");
    }
}
