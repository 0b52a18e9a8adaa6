package io.herd.policy;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

/**
 * The owner's policy for guests on this node, as set with
 * {@code herd policy set KEY VALUE}. Pure: parsing, validation and the file
 * format; applying it (cgroups) is the daemon's business, deciding with it
 * {@link Admission}'s.
 *
 * <h2>Keys</h2>
 * <pre>
 *   accept              when guests are welcome at all: always (default) | when-idle 10m |
 *                       windows "Mon-Fri 19:00-08:00; Sat-Sun" | never (see {@link AcceptRule})
 *   guest-cpus          cores all guests together may use, e.g. 0.5 or 2;
 *                       none or unlimited lifts the cap (stored as 0)
 *   guest-mem-max       most memory one guest may have, e.g. 4G; a job asking for more (--mem) is
 *                       refused, and guest-mem-default is capped by it; none (default) for no limit
 *   guest-network       yes | no: whether a guest that asked for the network (--net) may have it
 *                       (default yes); guests that did not ask never have it
 *   guest-mem-default   memory limit of a guest that gave no --mem, e.g. 2G (the default) or 512M;
 *                       none for no limit
 *   guest-pids-max      most tasks (processes and threads) one guest may have at once (default 512);
 *                       none for no limit
 *   accept-unsandboxed  yes | no: run other users' guests even where this node cannot sandbox them
 *                       (no working bwrap or no cgroups; default no)
 *   allow-users         users whose guests are welcome, e.g. alice,bob; none (default) = every user
 *   deny-users          users whose guests are refused; deny wins over allow
 *   allow-nodes         nodes whose guests are welcome (the job's home node); none (default) = every node
 *   deny-nodes          nodes whose guests are refused; deny wins over allow
 *   guest-io            disk bandwidth all guests together may use on each block device, reads and
 *                       writes each, e.g. 50MB/s (the default) or 200M; none for no cap. Enforced with
 *                       cgroup v2 io.max on the guests' group, or v1 blkio.throttle split between the
 *                       running guests (v1 throttling is not hierarchical)
 *   owner-io-latency    the owner's small write + fsync latency above which guests' I/O backs off
 *                       (budget cut, then guests frozen), e.g. 25ms (the default); off to disable
 *   owner-mem-reserve   memory kept for the owner: all guests together may use at most RAM minus this,
 *                       and guests are frozen, then evicted, when the machine's available memory falls
 *                       under it; a size such as 4G or a share of RAM such as 25% (the default)
 *   guest-mem-rate      how fast all guests together may take new memory while the owner uses the
 *                       CPU, e.g. 64MB/s (the default); faster, their CPU is cut until they keep to it
 *                       (faulting in gigabytes costs the owner: page zeroing, reclaim and, in a VM,
 *                       the host backing the pages run partly outside the guests' CPU share); none
 *                       to let them allocate at full speed
 * </pre>
 * A key is added here: one component, one {@link #KEYS} entry, one case in
 * {@link #with} and {@link #settings}.
 *
 * <p>Kept in the data directory as {@value #FILE}, a properties file
 * written atomically. A key the file does not mention has its default.
 *
 * @param guestCpus         cap on the CPU of all guests together, in cores; 0 = no cap
 * @param guestNetwork      guests that ask for the network get it
 * @param guestMemDefault   memory limit of guests without {@code --mem}, bytes; 0 = none
 * @param guestPidsMax      tasks per guest; 0 = no limit
 * @param acceptUnsandboxed other users' guests are run even without a full sandbox
 * @param accept            when guests are welcome at all
 * @param guestMemMax       most memory one guest may have, bytes; 0 = no limit
 * @param allowUsers        users whose guests are welcome; empty = all
 * @param denyUsers         users whose guests are refused
 * @param allowNodes        home nodes whose guests are welcome; empty = all
 * @param denyNodes         home nodes whose guests are refused
 * @param guestIo           disk bandwidth cap of all guests together per device, bytes per second; 0 = none
 * @param ownerIoLatencyMillis the owner's write + fsync latency that makes guests back off; 0 = off
 * @param ownerMemReserve   memory kept for the owner
 * @param guestMemRate      how fast guests may take new memory while the owner uses the CPU, bytes per second; 0 = any
 */
public record Policy(double guestCpus, boolean guestNetwork, long guestMemDefault, int guestPidsMax,
                     boolean acceptUnsandboxed, AcceptRule accept, long guestMemMax, List<String> allowUsers,
                     List<String> denyUsers, List<String> allowNodes, List<String> denyNodes, long guestIo,
                     long ownerIoLatencyMillis, MemReserve ownerMemReserve, long guestMemRate) {

    /** File name in the data directory. */
    public static final String FILE = "policy.properties";
    /** The keys {@code herd policy set} knows, in the order {@code herd policy show} prints them. */
    public static final List<String> KEYS = List.of("accept", "guest-cpus", "guest-mem-max", "guest-network",
            "guest-mem-default", "guest-pids-max", "accept-unsandboxed", "allow-users", "deny-users", "allow-nodes",
            "deny-nodes", "guest-io", "owner-io-latency", "owner-mem-reserve", "guest-mem-rate");
    /** Smallest cap: the kernel's minimum CFS quota is 1 ms per 100 ms period. */
    public static final double MIN_GUEST_CPUS = 0.01;
    /** Largest cap. */
    public static final double MAX_GUEST_CPUS = 4096;
    public static final long DEFAULT_GUEST_MEM = 2L << 30;
    public static final int DEFAULT_GUEST_PIDS = 512;
    /**
     * 50 MB/s per device for all guests together: a tenth of a SATA SSD, enough for most batch jobs,
     * little enough that the owner's own writes keep their latency (see BENCHMARKS.md).
     */
    public static final long DEFAULT_GUEST_IO = 50L << 20;
    /** Smallest I/O cap: below 1 MB/s a guest cannot even page in its program in reasonable time. */
    public static final long MIN_GUEST_IO = 1L << 20;
    /** The owner's write + fsync latency that makes guests back off: several times an idle SSD's p99 (~3 ms). */
    public static final long DEFAULT_OWNER_IO_LATENCY_MILLIS = 25;
    /**
     * 64 MB/s of new memory for all guests together while the owner uses the CPU: a guest filling
     * 12 GiB faster (~250 MB/s at a fifth of a core here) doubled the owner's p99 compute time; at
     * ~50 MB/s it did not (BENCHMARKS.md, issue 6). A job still gets a few GiB within a minute.
     */
    public static final long DEFAULT_GUEST_MEM_RATE = 64L << 20;
    /** A quarter of RAM kept for the owner. */
    public static final MemReserve DEFAULT_OWNER_MEM_RESERVE = new MemReserve(0, 25);
    /** Most names in one allow or deny list. */
    public static final int MAX_NAMES = 64;
    /** Everything at its default: guests always welcome, no CPU cap, network on request, 2 GiB and 512 tasks per guest, sandbox required. */
    public static final Policy DEFAULT = new Policy(0);

    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?|\\.[0-9]+");
    /** A user or node name in an allow or deny list. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}");

    public Policy {
        if (guestCpus != 0 && !(guestCpus >= MIN_GUEST_CPUS && guestCpus <= MAX_GUEST_CPUS)) {
            throw new IllegalArgumentException(guestCpusRule(Double.toString(guestCpus)));
        }
        if (guestMemDefault < 0) throw new IllegalArgumentException("guest-mem-default must not be negative");
        if (guestPidsMax < 0) throw new IllegalArgumentException("guest-pids-max must not be negative");
        if (guestMemMax < 0) throw new IllegalArgumentException("guest-mem-max must not be negative");
        accept = accept == null ? AcceptRule.ALWAYS : accept;
        allowUsers = allowUsers == null ? List.of() : List.copyOf(allowUsers);
        denyUsers = denyUsers == null ? List.of() : List.copyOf(denyUsers);
        allowNodes = allowNodes == null ? List.of() : List.copyOf(allowNodes);
        denyNodes = denyNodes == null ? List.of() : List.copyOf(denyNodes);
        if (guestIo != 0 && guestIo < MIN_GUEST_IO) throw new IllegalArgumentException(guestIoRule(Long.toString(guestIo)));
        if (ownerIoLatencyMillis < 0) throw new IllegalArgumentException("owner-io-latency must not be negative");
        ownerMemReserve = ownerMemReserve == null ? DEFAULT_OWNER_MEM_RESERVE : ownerMemReserve;
        if (guestMemRate != 0 && guestMemRate < MIN_GUEST_IO) throw new IllegalArgumentException(guestMemRateRule(Long.toString(guestMemRate)));
    }

    /**
     * Memory kept for the owner: {@code bytes} when given, else {@code percent} of RAM.
     *
     * @param bytes   a fixed reserve; 0 = use the percentage
     * @param percent share of RAM, 0-90
     */
    public record MemReserve(long bytes, int percent) {
        public MemReserve {
            if (bytes < 0 || percent < 0 || percent > 90 || (bytes > 0 && percent > 0)) {
                throw new IllegalArgumentException("owner-mem-reserve is a size or a share of RAM from 0% to 90%");
            }
        }

        /** The reserve on a machine with {@code memTotalBytes} of RAM. */
        public long of(long memTotalBytes) {
            return bytes > 0 ? Math.min(bytes, memTotalBytes) : memTotalBytes * percent / 100;
        }

        @Override
        public String toString() {
            return bytes > 0 ? formatSize(bytes) : percent + "%";
        }
    }

    /** The sandbox keys given, the rest (accept, lists, guest-mem-max) at their defaults. */
    public Policy(double guestCpus, boolean guestNetwork, long guestMemDefault, int guestPidsMax,
                  boolean acceptUnsandboxed) {
        this(guestCpus, guestNetwork, guestMemDefault, guestPidsMax, acceptUnsandboxed, AcceptRule.ALWAYS, 0,
                List.of(), List.of(), List.of(), List.of(), DEFAULT_GUEST_IO, DEFAULT_OWNER_IO_LATENCY_MILLIS,
                DEFAULT_OWNER_MEM_RESERVE, DEFAULT_GUEST_MEM_RATE);
    }

    /** The given CPU cap, everything else at its default. */
    public Policy(double guestCpus) {
        this(guestCpus, true, DEFAULT_GUEST_MEM, DEFAULT_GUEST_PIDS, false);
    }

    /** True when guests are capped. */
    public boolean capsGuestCpus() {
        return guestCpus > 0;
    }

    /**
     * The memory limit of a guest that asked for {@code requestedBytes} (0 = did not ask): its
     * request, else guest-mem-default, never more than guest-mem-max. 0 = no limit.
     */
    public long guestMemLimit(long requestedBytes) {
        long mem = requestedBytes > 0 ? requestedBytes : guestMemDefault;
        if (guestMemMax > 0 && (mem == 0 || mem > guestMemMax)) mem = guestMemMax;
        return mem;
    }

    /**
     * This policy with {@code key} set from its text form.
     *
     * @throws IllegalArgumentException for an unknown key or a bad value, saying what is allowed
     */
    public Policy with(String key, String value) {
        String v = value == null ? "" : value.strip();
        AcceptRule a = accept;
        double cpus = guestCpus;
        boolean net = guestNetwork;
        long memDefault = guestMemDefault;
        int pids = guestPidsMax;
        boolean unsandboxed = acceptUnsandboxed;
        long memMax = guestMemMax;
        List<String> au = allowUsers;
        List<String> du = denyUsers;
        List<String> an = allowNodes;
        List<String> dn = denyNodes;
        long io = guestIo;
        long latency = ownerIoLatencyMillis;
        MemReserve reserve = ownerMemReserve;
        long memRate = guestMemRate;
        switch (key == null ? "" : key) {
            case "accept" -> a = AcceptRule.parse(v);
            case "guest-cpus" -> cpus = parseGuestCpus(v);
            case "guest-mem-max" -> memMax = parseSize(key, v);
            case "guest-network" -> net = parseYesNo(key, v);
            case "guest-mem-default" -> memDefault = parseSize(key, v);
            case "guest-pids-max" -> pids = parsePids(v);
            case "accept-unsandboxed" -> unsandboxed = parseYesNo(key, v);
            case "allow-users" -> au = parseNames(key, v, "users", "alice,bob");
            case "deny-users" -> du = parseNames(key, v, "users", "mallory");
            case "allow-nodes" -> an = parseNames(key, v, "nodes", "lab-1,lab-2");
            case "deny-nodes" -> dn = parseNames(key, v, "nodes", "laptop-7");
            case "guest-io" -> io = parseGuestIo(v);
            case "owner-io-latency" -> latency = parseLatency(v);
            case "owner-mem-reserve" -> reserve = parseReserve(v);
            case "guest-mem-rate" -> memRate = parseGuestMemRate(v);
            default -> throw new IllegalArgumentException("unknown policy key '" + key + "'; known keys: "
                    + String.join(", ", KEYS));
        }
        return new Policy(cpus, net, memDefault, pids, unsandboxed, a, memMax, au, du, an, dn, io, latency, reserve, memRate);
    }

    /**
     * A list of user or node names, separated by commas or spaces; {@code none} or nothing
     * for the empty list. Duplicates are dropped, the order kept.
     */
    static List<String> parseNames(String key, String text, String what, String example) {
        String t = text.strip();
        if (t.isEmpty() || t.equalsIgnoreCase("none")) return List.of();
        java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
        for (String n : t.split("[,\\s]+")) {
            if (n.isEmpty()) continue;
            if (!NAME.matcher(n).matches()) {
                throw new IllegalArgumentException(key + ": '" + n + "' is not a name of " + what
                        + " (letters, digits, _ . @ -, at most 64); give a comma list such as " + example
                        + ", or none");
            }
            names.add(n);
        }
        if (names.size() > MAX_NAMES) {
            throw new IllegalArgumentException(key + ": " + names.size() + " names; at most " + MAX_NAMES);
        }
        return List.copyOf(names);
    }

    /**
     * Reads a guest CPU cap: a decimal number of cores from 0.01 to 4096, or
     * {@code none} / {@code unlimited} for no cap (0).
     */
    public static double parseGuestCpus(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none") || t.equals("unlimited")) return 0;
        if (DECIMAL.matcher(t).matches()) {
            double d = Double.parseDouble(t);
            if (d >= MIN_GUEST_CPUS && d <= MAX_GUEST_CPUS) return d;
        }
        throw new IllegalArgumentException(guestCpusRule(text));
    }

    static boolean parseYesNo(String key, String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "yes", "true", "on" -> true;
            case "no", "false", "off" -> false;
            default -> throw new IllegalArgumentException(key + " must be yes or no, not '" + text + "'");
        };
    }

    private static final Pattern SIZE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(?:i?b)?");

    /** A size such as 512M, 2G, 1.5G or 1048576 (bytes); none or unlimited for 0. At least 1 MiB. */
    static long parseSize(String key, String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none") || t.equals("unlimited")) return 0;
        java.util.regex.Matcher m = SIZE.matcher(t);
        if (m.matches()) {
            int shift = switch (m.group(2)) {
                case "k" -> 10;
                case "m" -> 20;
                case "g" -> 30;
                case "t" -> 40;
                default -> 0;
            };
            double bytes = Double.parseDouble(m.group(1)) * (1L << shift);
            if (bytes >= (1 << 20) && bytes < Long.MAX_VALUE / 2) return (long) bytes;
        }
        throw new IllegalArgumentException(key + " must be a size of at least 1M such as 512M or 2G, or none; not '" + text + "'");
    }

    private static final Pattern RATE = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*([kmgt]?)(?:i?b)?(?:/s|ps)?");

    /**
     * A disk bandwidth such as 50MB/s, 50M, 1.5G/s or 10485760 (bytes per second), binary units;
     * none or unlimited for no cap (0). At least 1MB/s.
     */
    public static long parseGuestIo(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none") || t.equals("unlimited")) return 0;
        java.util.regex.Matcher m = RATE.matcher(t);
        if (m.matches()) {
            double bytes = Double.parseDouble(m.group(1)) * (1L << shift(m.group(2)));
            if (bytes >= MIN_GUEST_IO && bytes < Long.MAX_VALUE / 2) return (long) bytes;
        }
        throw new IllegalArgumentException(guestIoRule(text));
    }

    /** A rate of new memory such as 64MB/s or 1G/s, at least 1MB/s; none (0) for no limit. */
    static long parseGuestMemRate(String text) {
        try {
            return parseGuestIo(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(guestMemRateRule(text), e);
        }
    }

    private static String guestMemRateRule(String given) {
        return "guest-mem-rate must be a rate of at least 1MB/s such as 64MB/s or 1G/s, or none to lift the limit; not '"
                + given + "'";
    }

    private static String guestIoRule(String given) {
        return "guest-io must be a disk bandwidth of at least 1MB/s such as 50MB/s or 200M, or none to lift the cap; not '"
                + given + "'";
    }

    /** A latency such as 25ms or 0.1s, from 1 ms to 10 s; off (0) disables the back-off. */
    static long parseLatency(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("off") || t.equals("none")) return 0;
        java.util.regex.Matcher m = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)\\s*(ms|s)").matcher(t);
        if (m.matches()) {
            double ms = Double.parseDouble(m.group(1)) * (m.group(2).equals("s") ? 1000 : 1);
            if (ms >= 1 && ms <= 10_000) return Math.round(ms);
        }
        throw new IllegalArgumentException("owner-io-latency must be a time from 1ms to 10s such as 25ms, or off; not '"
                + text + "'");
    }

    /** A reserve such as 4G or 25% (of RAM), 0% to 90%. */
    static MemReserve parseReserve(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        java.util.regex.Matcher m = Pattern.compile("([0-9]{1,3})\\s*%").matcher(t);
        if (m.matches() && Integer.parseInt(m.group(1)) <= 90) return new MemReserve(0, Integer.parseInt(m.group(1)));
        if (!m.matches() && !t.equals("none") && !t.equals("unlimited")) {
            try {
                return new MemReserve(parseSize("owner-mem-reserve", t), 0);
            } catch (IllegalArgumentException e) {
                // the message below says both forms
            }
        }
        throw new IllegalArgumentException("owner-mem-reserve must be a size such as 4G or a share of RAM from 0% to 90% "
                + "such as 25%; not '" + text + "'");
    }

    private static int shift(String unit) {
        return switch (unit) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
    }

    /** Bytes per second as people write them: 50MB/s, 1536KB/s. */
    public static String formatRate(long bytesPerSecond) {
        return formatSize(bytesPerSecond) + "B/s";
    }

    static int parsePids(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        if (t.equals("none") || t.equals("unlimited")) return 0;
        try {
            int n = Integer.parseInt(t);
            if (n >= 8 && n <= 4_194_304) return n;
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new IllegalArgumentException("guest-pids-max must be a number of tasks from 8 to 4194304, or none; not '" + text + "'");
    }

    /** Bytes as the shortest exact size: 2G, 512M, 1536K, 1000. */
    public static String formatSize(long bytes) {
        String[] units = {"T", "G", "M", "K"};
        int[] shifts = {40, 30, 20, 10};
        for (int i = 0; i < units.length; i++) {
            if (bytes >= (1L << shifts[i]) && bytes % (1L << shifts[i]) == 0) return (bytes >> shifts[i]) + units[i];
        }
        return Long.toString(bytes);
    }

    private static String guestCpusRule(String given) {
        return "guest-cpus must be a number of cores from " + MIN_GUEST_CPUS + " to " + (int) MAX_GUEST_CPUS
                + " (e.g. 0.5), or none/unlimited to lift the cap; not '" + given + "'";
    }

    /** Every key with its value as {@code herd policy show} prints it, in {@link #KEYS} order. */
    public Map<String, String> settings() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("accept", accept.toString());
        out.put("guest-cpus", capsGuestCpus() ? formatCores(guestCpus) : "unlimited");
        out.put("guest-mem-max", guestMemMax == 0 ? "none" : formatSize(guestMemMax));
        out.put("guest-network", guestNetwork ? "yes" : "no");
        out.put("guest-mem-default", guestMemDefault == 0 ? "none" : formatSize(guestMemDefault));
        out.put("guest-pids-max", guestPidsMax == 0 ? "none" : Integer.toString(guestPidsMax));
        out.put("accept-unsandboxed", acceptUnsandboxed ? "yes" : "no");
        out.put("allow-users", names(allowUsers));
        out.put("deny-users", names(denyUsers));
        out.put("allow-nodes", names(allowNodes));
        out.put("deny-nodes", names(denyNodes));
        out.put("guest-io", guestIo == 0 ? "none" : formatRate(guestIo));
        out.put("owner-io-latency", ownerIoLatencyMillis == 0 ? "off" : ownerIoLatencyMillis + "ms");
        out.put("owner-mem-reserve", ownerMemReserve.toString());
        out.put("guest-mem-rate", guestMemRate == 0 ? "none" : formatRate(guestMemRate));
        return out;
    }

    private static String names(List<String> names) {
        return names.isEmpty() ? "none" : String.join(",", names);
    }

    /** Cores as a short decimal: 0.5, 2, 0.25. */
    public static String formatCores(double cores) {
        if (cores == Math.rint(cores)) return Long.toString((long) cores);
        return java.math.BigDecimal.valueOf(cores).stripTrailingZeros().toPlainString();
    }

    /**
     * Reads the policy file; a missing file is {@link #DEFAULT}.
     *
     * @throws IllegalArgumentException when the file has an unknown key or a bad value (naming the file)
     */
    public static Policy load(Path file) throws IOException {
        String text = AtomicFiles.readOrNull(file);
        return text == null ? DEFAULT : parse(text, file.toString());
    }

    /** Parses the file format; {@code source} names it in errors. */
    static Policy parse(String text, String source) {
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException(source + " is not a properties file (" + e.getMessage()
                    + "); fix it or set the policy again with `herd policy set`", e);
        }
        Policy policy = DEFAULT;
        for (String key : p.stringPropertyNames().stream().sorted().toList()) {
            try {
                policy = policy.with(key, p.getProperty(key));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
            }
        }
        return policy;
    }

    /** The file format: every key, so the file documents what can be set. */
    String format() {
        StringBuilder b = new StringBuilder("# herd owner policy (herd policy set KEY VALUE)\n");
        settings().forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        return b.toString();
    }

    /** Replaces the policy file atomically. */
    public void save(Path file) throws IOException {
        AtomicFiles.write(file, format());
    }
}
