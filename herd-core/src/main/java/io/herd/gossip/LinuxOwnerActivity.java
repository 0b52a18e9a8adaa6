package io.herd.gossip;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Owner activity on a Linux machine, from the sources a user-space daemon can
 * read without a display connection (OSHI has none):
 *
 * <ul>
 *   <li><b>logind</b> ({@code loginctl}): which sessions are local and
 *       whether they are idle. A local session is {@code Remote=no} and sits
 *       at a seat or on a virtual console; greeters, lock screens' own
 *       sessions, managers and closing sessions do not count as an owner.
 *       An active graphical session that is not idle counts as input now (the
 *       desktop sets the idle hint only after its idle delay, so this errs
 *       towards "owner busy"); an idle one counts from {@code IdleSinceHint}
 *       (µs since the epoch). Results are cached for {@link #LOGIND_CACHE_MILLIS},
 *       and a machine without logind (no systemd, no D-Bus, no loginctl) is
 *       asked again only every {@link #LOGIND_RETRY_MILLIS}.</li>
 *   <li><b>Virtual consoles</b> {@code /dev/tty[0-9]*}: the tty layer sets a
 *       console's access time when it reads input, as {@code w(1)} relies on.</li>
 *   <li><b>Input devices</b> {@code /dev/input/event*}: their access times,
 *       where the kernel and mount options update them. Often they do not;
 *       that is harmless, since only the most recent input among all sources
 *       counts.</li>
 *   <li><b>Pseudo-terminals</b> {@code /dev/pts/N}: counted only when logind
 *       lists one as the terminal of a local session. Most pts belong to SSH
 *       logins, and a remote user is not the person at the desk whose
 *       desktop herd must keep responsive; terminal windows of a local
 *       desktop are covered by its session and its input devices. Without
 *       logind no pts counts.</li>
 * </ul>
 *
 * Idle time is now minus the most recent input any readable source shows;
 * -1 if none is readable. Without logind, presence is unknown and reported
 * as absent; idle time from the devices still protects the owner.
 *
 * <p>The clock, the {@code /dev} root and the command runner are injected so
 * tests can feed fake logind output and device files with chosen times.
 */
public final class LinuxOwnerActivity implements OwnerActivitySource {

    /** logind state changes at human speed; a daemon reading every second needs no fresher view. */
    public static final long LOGIND_CACHE_MILLIS = 5_000;
    /** How long a failed loginctl (not installed, no systemd) is believed before trying again. */
    public static final long LOGIND_RETRY_MILLIS = 60_000;
    private static final long COMMAND_TIMEOUT_MILLIS = 2_000;

    private static final Pattern CONSOLE_TTY = Pattern.compile("tty[0-9]+");
    private static final Pattern SESSION_ID = Pattern.compile("[A-Za-z0-9_-]+");
    private static final Pattern UID = Pattern.compile("[0-9]+");
    private static final Set<String> GRAPHICAL = Set.of("x11", "wayland", "mir");
    private static final Set<String> NOT_AN_OWNER = Set.of("greeter", "lock-screen", "background",
            "background-light", "manager", "manager-early", "none");

    private final Clock clock;
    private final Path devRoot;
    private final Function<List<String>, String> commandRunner;

    private List<Session> sessions; // null: logind unavailable
    private long logindReadAt;
    private boolean logindEverRead;

    /** Reads the real machine: system clock, {@code /dev}, and {@code loginctl} run as a subprocess. */
    public LinuxOwnerActivity() {
        this(Clock.systemUTC(), Path.of("/dev"), LinuxOwnerActivity::runCommand);
    }

    /**
     * @param commandRunner runs a command line and returns its standard
     *                      output, or {@code null} if it could not run or
     *                      exited non-zero
     */
    public LinuxOwnerActivity(Clock clock, Path devRoot, Function<List<String>, String> commandRunner) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.devRoot = Objects.requireNonNull(devRoot, "devRoot");
        this.commandRunner = Objects.requireNonNull(commandRunner, "commandRunner");
    }

    @Override
    public synchronized OwnerActivity read() {
        long now = clock.millis();
        List<Session> local = localSessions(now);

        long lastInput = Long.MIN_VALUE;
        boolean present = false;
        List<String> localPts = new ArrayList<>();
        if (local != null) {
            for (Session s : local) {
                present |= s.atSeatOrConsole();
                if (s.tty.startsWith("pts/")) localPts.add(s.tty);
                if (GRAPHICAL.contains(s.type) && s.active && !s.idle) {
                    lastInput = now;
                } else if (s.idle && s.idleSinceMicros > 0) {
                    lastInput = Math.max(lastInput, s.idleSinceMicros / 1000);
                }
                // Console sessions: their tty's access time below is more precise than the hint.
            }
        }
        lastInput = Math.max(lastInput, newestAccess(devRoot, CONSOLE_TTY));
        lastInput = Math.max(lastInput, newestAccess(devRoot.resolve("input"), null));
        for (String pts : localPts) lastInput = Math.max(lastInput, accessTime(devRoot.resolve(pts)));

        long idle = lastInput == Long.MIN_VALUE ? -1 : Math.max(0, (now - lastInput) / 1000);
        return new OwnerActivity(idle, present);
    }

    /** Local sessions of people per logind, from cache when fresh enough; null when logind cannot be asked. */
    private List<Session> localSessions(long now) {
        long maxAge = sessions == null ? LOGIND_RETRY_MILLIS : LOGIND_CACHE_MILLIS;
        if (!logindEverRead || now - logindReadAt >= maxAge || now < logindReadAt) {
            sessions = queryLogind();
            logindReadAt = now;
            logindEverRead = true;
        }
        return sessions;
    }

    private List<Session> queryLogind() {
        String list = run(List.of("loginctl", "list-sessions", "--no-legend", "--no-pager"));
        if (list == null) return null;
        List<Session> local = new ArrayList<>();
        for (String line : list.split("\n")) {
            // "SESSION UID USER ..." in every systemd version; the columns after USER vary.
            String[] cols = line.strip().split("\\s+");
            if (cols.length < 3 || !SESSION_ID.matcher(cols[0]).matches() || !UID.matcher(cols[1]).matches()) {
                continue; // "No sessions." and other prose
            }
            String id = cols[0];
            // Key=value output, parsed by key: with --value, loginctl prints in its own
            // property order, not the order of the -p flags, which differs between versions.
            String props = run(List.of("loginctl", "show-session", id, "--no-pager",
                    "-p", "Remote", "-p", "Type", "-p", "Class", "-p", "Active", "-p", "State",
                    "-p", "IdleHint", "-p", "IdleSinceHint", "-p", "Seat", "-p", "TTY"));
            if (props == null) continue; // the session ended between the two calls
            Session s = Session.parse(props);
            if (s.isLocalOwner()) local.add(s);
        }
        return local;
    }

    private String run(List<String> command) {
        try {
            return commandRunner.apply(command);
        } catch (RuntimeException e) {
            return null; // a runner that throws is as good as a missing loginctl
        }
    }

    /** Newest access time (ms) of the entries of {@code dir} whose names match, or MIN_VALUE if none is readable. */
    private static long newestAccess(Path dir, Pattern names) {
        long newest = Long.MIN_VALUE;
        if (!Files.isDirectory(dir)) return newest;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                boolean wanted = names != null ? names.matcher(name).matches() : name.startsWith("event");
                if (wanted) newest = Math.max(newest, accessTime(p));
            }
        } catch (IOException | SecurityException e) {
            // Unreadable source: skipped, others still count.
        }
        return newest;
    }

    private static long accessTime(Path p) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class).lastAccessTime().toMillis();
        } catch (IOException | SecurityException e) {
            return Long.MIN_VALUE;
        }
    }

    /** Runs a command with a timeout; stdout on exit 0, otherwise null. */
    static String runCommand(List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("SYSTEMD_COLORS", "0");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return null; // not installed
        }
        try (InputStream out = p.getInputStream()) {
            // loginctl's output is a few hundred bytes, far below a pipe buffer, so
            // waiting before reading cannot deadlock; a hung D-Bus call is cut off.
            if (!p.waitFor(COMMAND_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                return null;
            }
            if (p.exitValue() != 0) return null;
            return new String(out.readNBytes(64 * 1024), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return null;
        }
    }

    private record Session(boolean remote, String type, String sessionClass, boolean active, String state,
                           boolean idle, long idleSinceMicros, String seat, String tty) {

        static Session parse(String keyValues) {
            Map<String, String> m = new HashMap<>();
            for (String line : keyValues.split("\n")) {
                int eq = line.indexOf('=');
                if (eq > 0) m.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
            }
            long since;
            try {
                since = Long.parseLong(m.getOrDefault("IdleSinceHint", "0"));
            } catch (NumberFormatException e) {
                since = 0;
            }
            // Unknown Remote counts as remote: presence must be positively local.
            return new Session(!"no".equals(m.get("Remote")), m.getOrDefault("Type", ""),
                    m.getOrDefault("Class", ""), "yes".equals(m.get("Active")), m.getOrDefault("State", ""),
                    "yes".equals(m.get("IdleHint")), since, m.getOrDefault("Seat", ""), m.getOrDefault("TTY", ""));
        }

        /** A session of a person on this machine (not over the network, not a greeter or service). */
        boolean isLocalOwner() {
            return !remote && !NOT_AN_OWNER.contains(sessionClass) && !"closing".equals(state);
        }

        /** Physically here: at a seat (screen, keyboard) or a virtual console. */
        boolean atSeatOrConsole() {
            return !seat.isEmpty() || CONSOLE_TTY.matcher(tty).matches();
        }
    }
}
