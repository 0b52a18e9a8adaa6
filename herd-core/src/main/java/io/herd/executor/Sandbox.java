package io.herd.executor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.LinkOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How guests are isolated on this node: the bubblewrap sandbox (when {@code bwrap} works here)
 * and the unprivileged account guests run as (when the daemon is root).
 *
 * <h2>The sandbox</h2>
 * <pre>
 *  bwrap --ro-bind / /              the whole system, read-only (submounts too)
 *        --dev /dev --proc /proc    a minimal /dev (no host terminals) and the new PID namespace's /proc
 *        --perms 1777 --tmpfs /tmp (and /var/tmp)             private, empty
 *        --tmpfs /home --tmpfs /root --tmpfs /run/user …     hidden: other users' files, the node's data
 *        --tmpfs DATA_DIR                                     directory (keys, journal, other sandboxes)
 *        --bind SANDBOX SANDBOX --chdir SANDBOX               the job's own directory, the only writable place
 *        --unshare-pid --unshare-ipc --unshare-uts --unshare-cgroup-try
 *        [--unshare-net]            no network unless the job asked (--net) and the host allows it
 *        --die-with-parent          the sandbox dies with its supervisor
 *        --
 * </pre>
 * No {@code --new-session}: the exec chain starts with {@code setsid}, so the job already has a
 * session of its own without a controlling terminal, and the sandbox's {@code /dev} holds no host
 * terminal to inject input into (the attack {@code --new-session} guards against). A second
 * session would hide the job from the Ctrl-C herd forwards to its process group.
 *
 * <h2>The account</h2>
 * A daemon running as root runs guests as {@value #DEFAULT_ACCOUNT} (created with
 * {@code useradd --system} when missing; {@code nobody} if that fails), through
 * {@code setpriv --reuid --regid --clear-groups --no-new-privs} as the last step before the
 * program; the job's sandbox directory is handed to that account. A daemon running as a normal
 * user runs guests as itself, and bwrap then needs unprivileged user namespaces (probed at start).
 */
public final class Sandbox {

    private static final Logger log = LoggerFactory.getLogger(Sandbox.class);

    /** The account guests run as when the daemon is root. */
    public static final String DEFAULT_ACCOUNT = "herd-guest";
    /** Hidden from every guest, where they exist: other users' files and herd's own data. */
    public static final List<Path> HIDDEN = List.of(Path.of("/home"), Path.of("/root"), Path.of("/run/user"),
            Path.of("/var/lib/herd"), Path.of("/var/tmp"), Path.of("/tmp"));

    private final Path bwrap;     // null: no sandbox on this node
    private final Path setpriv;   // null when guests run as the daemon's user
    private final String account; // null: the daemon's own user
    private final int uid;
    private final int gid;
    private final List<Path> hidden;
    private final String reason;

    private Sandbox(Path bwrap, Path setpriv, String account, int uid, int gid, List<Path> hidden, String reason) {
        this.bwrap = bwrap;
        this.setpriv = setpriv;
        this.account = account;
        this.uid = uid;
        this.gid = gid;
        this.hidden = hidden;
        this.reason = reason;
    }

    /** No sandbox and guests run as the daemon's user: {@code why} shows in {@code describe()}. */
    public static Sandbox none(String why) {
        return new Sandbox(null, null, null, -1, -1, List.of(), why);
    }

    /**
     * Finds what this node can do: bwrap that actually builds a sandbox here (probed by running
     * one), and, when the daemon is root, the guests' account ({@code account}, created if
     * missing when it is {@value #DEFAULT_ACCOUNT}, else {@code nobody}).
     *
     * @param hide directories hidden from guests besides {@link #HIDDEN}: the node's data directory
     */
    public static Sandbox detect(List<Path> hide, String account) {
        List<Path> hidden = hiddenDirs(hide);
        Path setpriv = null;
        String acct = null;
        int uid = -1;
        int gid = -1;
        if (runningAsRoot()) {
            setpriv = program("setpriv");
            if (setpriv == null) {
                return none("setpriv (util-linux) is not installed: guests cannot be run as an unprivileged account");
            }
            acct = ensureAccount(account);
            int[] ids = ids(acct);
            if (ids == null) return none("no unprivileged account for guests (" + account + ", nobody)");
            uid = ids[0];
            gid = ids[1];
        }
        Path bwrap = program("bwrap");
        Sandbox withoutBwrap = new Sandbox(null, setpriv, acct, uid, gid, hidden, "bwrap is not installed");
        if (bwrap == null) return withoutBwrap;
        Sandbox s = new Sandbox(bwrap, setpriv, acct, uid, gid, hidden, null);
        String failure = s.probe();
        if (failure != null) {
            log.warn("bwrap cannot build a sandbox on this node ({}): guests run without one", failure);
            return new Sandbox(null, setpriv, acct, uid, gid, hidden, "bwrap fails here: " + failure);
        }
        return s;
    }

    /** True when guests run in a bubblewrap sandbox. */
    public boolean available() {
        return bwrap != null;
    }

    /** The account guests run as, or empty for the daemon's own. */
    public java.util.Optional<String> account() {
        return java.util.Optional.ofNullable(account);
    }

    /** One line for logs. */
    public String describe() {
        String as = account == null ? "as the daemon's user" : "as " + account + " (uid " + uid + ")";
        return (bwrap == null ? "no sandbox (" + reason + ")" : "bubblewrap sandbox") + ", guests " + as;
    }

    /** The bwrap command up to and including {@code --}; empty without a sandbox. */
    List<String> wrap(Path workDir, boolean network) {
        if (bwrap == null) return List.of();
        Path w = workDir.toAbsolutePath().normalize();
        List<String> c = new ArrayList<>(List.of(bwrap.toString(), "--ro-bind", "/", "/", "--dev", "/dev",
                "--proc", "/proc"));
        List<Path> mounted = new ArrayList<>();
        for (Path h : hidden) {
            makeParents(c, mounted, h);
            // Scratch space for the guest's account (sticky, like the host's); hidden homes stay root's.
            c.addAll(List.of("--perms", isScratch(h) ? "1777" : "0755", "--tmpfs", h.toString()));
            mounted.add(h);
        }
        makeParents(c, mounted, w);
        c.addAll(List.of("--bind", w.toString(), w.toString(), "--chdir", w.toString(),
                "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"));
        if (!network) c.add("--unshare-net");
        c.addAll(List.of("--die-with-parent", "--"));
        return c;
    }

    /**
     * Directories between a hidden (empty) directory and a mount inside it, made explicitly
     * with mode 0755: bwrap would make them with the daemon's umask (a JVM under a 077 umask
     * makes them 0700), and the guests' account could not reach its own sandbox by its path.
     */
    private static void makeParents(List<String> c, List<Path> mounted, Path target) {
        for (int i = 1; i < target.getNameCount(); i++) {
            Path a = target.getRoot().resolve(target.subpath(0, i));
            boolean inside = false;
            for (Path m : mounted) if (a.startsWith(m) && !a.equals(m)) inside = true;
            if (inside && !mounted.contains(a)) c.addAll(List.of("--perms", "0755", "--dir", a.toString()));
        }
    }

    /** The hidden directories a guest may write to (private, sticky, emptied for a kept sandbox's next job). */
    List<Path> scratchDirs() {
        return hidden.stream().filter(Sandbox::isScratch).toList();
    }

    private static boolean isScratch(Path h) {
        return h.equals(Path.of("/tmp")) || h.equals(Path.of("/var/tmp"));
    }

    /** True when guests run as their own account, dropped to by {@code setpriv} in their chain (the daemon is root). */
    boolean dropsToAccount() {
        return setpriv != null;
    }

    /** The step that drops to the guests' account, right before the program; empty when guests run as the daemon's user. */
    List<String> dropPrivileges() {
        if (setpriv == null) return List.of();
        return List.of(setpriv.toString(), "--reuid=" + uid, "--regid=" + gid, "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--");
    }

    /** Gives the job's sandbox directory (and everything in it) to the guests' account; nothing to do without one. */
    public void handOver(Path dir) throws IOException {
        if (uid < 0) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Files.setAttribute(p, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    /** Runs {@code true} in a sandbox like a guest's; null when it worked, else why not. */
    private String probe() {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("herd-sandbox-probe");
            handOver(dir);
            List<String> cmd = new ArrayList<>(wrap(dir, false));
            cmd.addAll(dropPrivileges());
            cmd.add(program("true") == null ? "/bin/true" : program("true").toString());
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "a test sandbox did not finish in 10 s";
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return p.exitValue() == 0 ? null : (out.isEmpty() ? "exit " + p.exitValue() : out);
        } catch (IOException e) {
            return e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        } finally {
            if (dir != null) {
                try {
                    Files.deleteIfExists(dir);
                } catch (IOException e) {
                    log.debug("cannot remove {}: {}", dir, e.toString());
                }
            }
        }
    }

    /** The existing directories to hide, parents before their children, without duplicates. */
    static List<Path> hiddenDirs(List<Path> extra) {
        List<Path> all = new ArrayList<>();
        for (Path p : Stream.concat(HIDDEN.stream(), extra.stream()).toList()) {
            Path n = p.toAbsolutePath().normalize();
            if (Files.isDirectory(n) && !all.contains(n) && !n.toString().equals("/")) all.add(n);
        }
        all.sort(Comparator.comparingInt(Path::getNameCount).thenComparing(Path::toString));
        return List.copyOf(all);
    }

    /** The account to use: {@code wanted} if it exists or could be created, else {@code nobody}; null if neither. */
    private static String ensureAccount(String wanted) {
        if (ids(wanted) != null) return wanted;
        if (wanted.equals(DEFAULT_ACCOUNT) && program("useradd") != null) {
            try {
                Process p = new ProcessBuilder(program("useradd").toString(), "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", wanted).redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    log.info("created the account {} for guests", wanted);
                    return wanted;
                }
                log.warn("cannot create the account {} for guests ({}); guests run as nobody", wanted, out);
            } catch (IOException e) {
                log.warn("cannot create the account {} for guests ({}); guests run as nobody", wanted, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else {
            log.warn("the account {} for guests does not exist; guests run as nobody", wanted);
        }
        return ids("nobody") != null ? "nobody" : null;
    }

    /** {uid, gid} of an account from the system's user database, null when it has none. */
    static int[] ids(String account) {
        Path id = program("id");
        if (id == null) return null;
        try {
            int u = Integer.parseInt(run(id.toString(), "-u", account));
            int g = Integer.parseInt(run(id.toString(), "-g", account));
            return u == 0 ? null : new int[] {u, g};
        } catch (IOException | NumberFormatException e) {
            return null;
        }
    }

    private static String run(String... cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IOException(cmd[0] + " failed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
        return out;
    }

    static boolean runningAsRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");   // effective uid
            }
        } catch (IOException e) {
            // fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }

    static Path program(String name) {
        for (String dir : List.of("/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/", "/usr/local/bin/")) {
            Path p = Path.of(dir + name);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    @Override
    public String toString() {
        return describe();
    }
}
