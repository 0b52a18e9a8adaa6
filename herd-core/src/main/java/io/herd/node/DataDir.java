package io.herd.node;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A node's data directory and where each thing lives in it. Several nodes can
 * share a machine by giving each its own directory.
 *
 * <pre>
 * node.properties   name, cluster, listen and advertised address
 * tls/              node.key (0600), node.crt, ca.crt, crl.der
 * ca/               only on the node that ran `herd init`: ca.key, ca.db
 * peers.txt         last known members' gRPC addresses (discovery on restart)
 * labels.txt        the node's labels (herd label add), one a line
 * policy.properties the owner policy (herd policy set), e.g. guest-cpus=0.5
 * herd.sock         the local control socket for the CLI
 * daemon.pid, daemon.log
 * native/           SQLite's native library, unpacked there by the daemon (not in /tmp)
 * </pre>
 */
public record DataDir(Path root) {

    public DataDir {
        root = root.toAbsolutePath().normalize();
    }

    /**
     * The cgroup parent of the node living in this directory: {@code herd-NAME-XXXXXX}, the
     * suffix from this directory's path, so several daemons on one machine (the demo, tests,
     * two clusters) never share, and never clean up, each other's cgroups.
     */
    public String cgroupName(String nodeName) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(root.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return "herd-" + nodeName + "-" + java.util.HexFormat.of().formatHex(d, 0, 3);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The directory a command uses: {@code --data}, else {@code $HERD_DATA}, else
     * {@code /var/lib/herd} as root and {@code ~/.local/share/herd} otherwise.
     */
    public static DataDir resolve(Path explicit) {
        if (explicit != null) return new DataDir(explicit);
        String env = System.getenv("HERD_DATA");
        if (env != null && !env.isBlank()) return new DataDir(Path.of(env));
        if ("root".equals(System.getProperty("user.name"))) return new DataDir(Path.of("/var/lib/herd"));
        return new DataDir(Path.of(System.getProperty("user.home"), ".local", "share", "herd"));
    }

    public Path config() { return root.resolve("node.properties"); }
    public Path caDir() { return root.resolve("ca"); }
    public Path peers() { return root.resolve("peers.txt"); }
    public Path socket() { return root.resolve("herd.sock"); }
    public Path pidFile() { return root.resolve("daemon.pid"); }
    public Path log() { return root.resolve("daemon.log"); }
    /** Where the daemon's JVM unpacks SQLite's native library ({@link #useForNativeLibraries}). */
    public Path nativeLibs() { return root.resolve("native"); }

    public boolean isInitialised() { return Files.exists(config()); }
    public boolean holdsCa() { return Files.exists(caDir().resolve("ca.key")); }

    /** Creates the directory readable only by its owner: it holds the node's private key. */
    public void create() throws IOException {
        Files.createDirectories(root);
        try {
            Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
        } catch (UnsupportedOperationException ignored) {
            // non-POSIX file system: nothing to tighten
        }
    }

    @Override
    public String toString() { return root.toString(); }

    /**
     * Makes SQLite's JDBC driver unpack its native library into {@link #nativeLibs} rather than
     * {@code /tmp}, first removing what earlier daemons of this directory left there: one daemon
     * runs per directory, and one stopped by {@code kill -9} or a crash leaves its ~1 MB copy
     * behind, which in {@code /tmp} nothing ever removes. It also lets the daemon start where
     * {@code /tmp} is mounted {@code noexec}. Does nothing when {@code org.sqlite.tmpdir} is set
     * already (by the user, or an earlier node of the same JVM: the driver loads its library once).
     *
     * @return whether this call set it
     */
    public boolean useForNativeLibraries() throws IOException {
        if (System.getProperty(SQLITE_TMPDIR) != null) return false;
        Path dir = Files.createDirectories(nativeLibs());
        try (var old = Files.list(dir)) {
            for (Path p : old.toList()) {
                if (p.getFileName().toString().startsWith("sqlite-")) Files.deleteIfExists(p);
            }
        }
        System.setProperty(SQLITE_TMPDIR, dir.toString());
        return true;
    }

    static final String SQLITE_TMPDIR = "org.sqlite.tmpdir";
}
