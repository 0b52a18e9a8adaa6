package io.herd.cli.view;

import io.herd.membership.NodeView;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The table printed by {@code herd nodes}: one line per node, sorted by name,
 * then a one-line summary of what the alive nodes add up to.
 *
 * <p>The table never wraps. When it is wider than the terminal it gives up
 * columns in order of how rarely they matter when looking at a pool: VERSION,
 * then SANDBOX, then the long headers (OWNER IDLE becomes IDLE), then ADDRESS
 * and LABELS, then it shortens long names, then drops GUEST CPU and the
 * figures; only if all that is not enough are lines cut. GUEST CPU (the
 * guests' CPU cap, {@code all} for none) and LABELS are shown only when some
 * node has a cap or a label; ACCEPT (whether the node takes guests now:
 * {@code yes}, {@code locked}, {@code idle-wait}, {@code window}, {@code never})
 * only when some alive node does not take them.
 *
 * <p>Node states are printed as the words {@code herd} uses everywhere
 * ({@code alive}, {@code suspect}, {@code dead}, {@code leaving}, {@code left})
 * so that {@code herd nodes | grep -v alive} works; a dead or departed node
 * shows {@code -} for its load figures, which are history, not capacity.
 * Colour is only added when asked for.
 */
public final class NodesTable {

    private static final String GAP = "  ";
    private static final int MIN_NAME = 8;
    private static final String BOLD = "\u001B[1m";
    private static final String RED = "\u001B[31m";
    private static final String YELLOW = "\u001B[33m";
    private static final String DIM = "\u001B[2m";
    private static final String RESET = "\u001B[0m";
    /** Where the marker for "owner logged in locally" goes; '*' is taken by the local node. */
    static final String OWNER_MARK = "@";
    static final String SELF_MARK = "*";

    private NodesTable() {
    }

    private record Column(String header, String shortHeader, boolean right, Function<NodeView, String> cell) {
    }

    private static final Column NAME = new Column("NAME", "NAME", false,
            n -> (n.name() == null ? "?" : n.name()) + (n.self() ? SELF_MARK : ""));
    private static final Column ADDRESS = new Column("ADDRESS", "ADDRESS", false, n -> Text.orDash(n.address()));
    private static final Column STATE = new Column("STATE", "STATE", false, n -> Text.orDash(n.state()));
    private static final Column CORES = new Column("CORES", "CORES", true,
            n -> n.cores() > 0 ? Integer.toString(n.cores()) : Units.UNKNOWN);
    private static final Column SPEED = new Column("SPEED", "SPEED", true, n -> Units.fixed(n.speed(), 1));
    private static final Column LOAD = new Column("LOAD", "LOAD", true,
            n -> gone(n) ? Units.UNKNOWN : Units.fixed(n.load(), 2));
    private static final Column CPU = new Column("CPU%", "CPU%", true,
            n -> gone(n) ? Units.UNKNOWN : Units.percent(n.cpuPercent()));
    private static final Column MEM = new Column("MEM FREE", "MEM FREE", true,
            n -> gone(n) ? Units.UNKNOWN : Units.bytes(n.memFreeBytes()) + "/" + Units.bytes(n.memTotalBytes()));
    private static final Column IDLE = new Column("OWNER IDLE", "IDLE", true,
            n -> gone(n) ? Units.UNKNOWN : Units.duration(n.ownerIdleSeconds()) + (n.ownerPresent() ? OWNER_MARK : ""));
    private static final Column GUESTS = new Column("GUESTS", "GUESTS", true,
            n -> gone(n) ? Units.UNKNOWN : n.guestJobs() + "/" + n.guestSlots());
    private static final Column ACCEPT = new Column("ACCEPT", "ACC", false,
            n -> gone(n) || n.guests().isEmpty() ? Units.UNKNOWN : n.guests());
    private static final Column GUEST_CPU = new Column("GUEST CPU", "GCPU", true,
            n -> gone(n) ? Units.UNKNOWN : n.guestCpus() > 0 ? io.herd.policy.Policy.formatCores(n.guestCpus()) : "all");
    private static final Column LABELS = new Column("LABELS", "LABELS", false,
            n -> n.labels().isEmpty() ? Units.UNKNOWN : String.join(",", n.labels()));
    private static final Column SANDBOX = new Column("SANDBOX", "SANDBOX", false, n -> Text.orDash(sandboxPart(n.sandbox())));
    /** How the node caps guests' disk I/O ({@code io.max}, {@code blkio.throttle}, {@code weight}, {@code none}), {@code +psi} with pressure information. */
    private static final Column GUEST_IO = new Column("GUEST IO", "GIO", false, n -> Text.orDash(ioPart(n.sandbox())));
    private static final Column VERSION = new Column("VERSION", "VERSION", false, n -> Text.orDash(n.version()));

    private static final List<Column> ALL =
            List.of(NAME, ADDRESS, STATE, CORES, SPEED, LOAD, CPU, MEM, IDLE, GUESTS, ACCEPT, GUEST_CPU, LABELS, SANDBOX,
                    GUEST_IO, VERSION);
    /** Given up in this order when the table is too wide, after VERSION, SANDBOX, ADDRESS and LABELS. */
    private static final List<Column> LAST_RESORT = List.of(GUEST_CPU, SPEED, CPU, GUESTS, IDLE, ACCEPT, CORES);
    private static final int SHORT_HEADERS = 3;
    private static final int CUT_NAMES = 5;
    private static final int MAX_LEVEL = CUT_NAMES + LAST_RESORT.size();

    /**
     * The columns at a level of giving up. GUEST CPU and LABELS appear only
     * when some node has a guest CPU cap or a label: most pools use neither.
     */
    private static List<Column> columnsFor(int level, List<NodeView> nodes) {
        List<Column> columns = new ArrayList<>(ALL);
        if (nodes.stream().noneMatch(n -> n.guestCpus() > 0 && !gone(n))) columns.remove(GUEST_CPU);
        if (nodes.stream().allMatch(n -> n.labels().isEmpty())) columns.remove(LABELS);
        if (nodes.stream().allMatch(n -> ioPart(n.sandbox()) == null)) columns.remove(GUEST_IO);
        if (nodes.stream().allMatch(n -> gone(n) || n.acceptsGuests())) columns.remove(ACCEPT);
        if (level >= 1) {
            columns.remove(VERSION);
        }
        if (level >= 2) {
            columns.remove(SANDBOX);
            columns.remove(GUEST_IO);
        }
        if (level >= 4) {
            columns.remove(ADDRESS);
            columns.remove(LABELS);
        }
        for (int i = 0; i < level - CUT_NAMES; i++) {
            columns.remove(LAST_RESORT.get(i));
        }
        return columns;
    }

    /** The sandbox level of a gossiped {@code "bwrap+cgroup1 io:blkio.throttle+psi"}. */
    static String sandboxPart(String s) {
        if (s == null) return null;
        int sp = s.indexOf(' ');
        return sp < 0 ? s : s.substring(0, sp);
    }

    /** The I/O control of it ({@code blkio.throttle+psi}); null from a node that does not say (older daemons). */
    static String ioPart(String s) {
        if (s == null) return null;
        int at = s.indexOf(" io:");
        return at < 0 ? null : s.substring(at + 4);
    }

    /** {@link #render(List, int, boolean)} without colour. */
    public static String render(List<NodeView> nodes, int width) {
        return render(nodes, width, false);
    }

    /**
     * The table as text, every line ending in a newline.
     *
     * @param width  the terminal width; no line is longer. Zero or less means no limit
     *               (for output that goes to a file or a pipe)
     * @param colour add ANSI colour (bold header, state in red or yellow); only
     *               for a terminal, since it breaks {@code grep} and {@code cut}
     */
    public static String render(List<NodeView> nodes, int width, boolean colour) {
        int limit = width <= 0 ? Integer.MAX_VALUE : width;
        List<NodeView> sorted = Text.sorted(nodes);

        // Each level gives up a little more than the one before; the first that fits wins.
        List<Column> columns = null;
        int[] widths = null;
        boolean shortHeaders = false;
        for (int level = 0; level <= MAX_LEVEL; level++) {
            columns = columnsFor(level, sorted);
            shortHeaders = level >= SHORT_HEADERS;
            widths = widths(columns, sorted, shortHeaders);
            if (level >= CUT_NAMES && total(widths) > limit) {
                // Names are cut before any figure is dropped: "workstati…" still says which machine.
                widths[0] = Math.max(Math.min(MIN_NAME, widths[0]), widths[0] - (total(widths) - limit));
            }
            if (total(widths) <= limit) {
                break;
            }
        }

        StringBuilder out = new StringBuilder();
        List<String> header = new ArrayList<>();
        for (Column c : columns) {
            header.add(shortHeaders ? c.shortHeader : c.header);
        }
        line(out, header, columns, widths, limit, colour ? BOLD : null, -1, null);
        for (NodeView node : sorted) {
            List<String> cells = new ArrayList<>();
            for (int i = 0; i < columns.size(); i++) {
                Column c = columns.get(i);
                String cell = c.cell.apply(node);
                if (c == NAME && cell.length() > widths[i]) {
                    // Keep the self marker visible when a long name is cut.
                    String suffix = node.self() ? SELF_MARK : "";
                    cell = Text.fit(cell.substring(0, cell.length() - suffix.length()), widths[i] - suffix.length())
                            + suffix;
                }
                cells.add(cell);
            }
            String stateColour = colour ? stateColour(node.state()) : null;
            line(out, cells, columns, widths, limit, null, columns.indexOf(STATE), stateColour);
        }
        out.append('\n');
        for (String s : Text.wrapParts(summaryParts(sorted), limit)) {
            out.append(s).append('\n');
        }
        List<String> notes = new ArrayList<>();
        if (sorted.stream().anyMatch(NodeView::self)) {
            notes.add(SELF_MARK + " this node");
        }
        if (columns.contains(IDLE) && sorted.stream().anyMatch(n -> n.ownerPresent() && !gone(n))) {
            notes.add(OWNER_MARK + " owner logged in locally");
        }
        for (String s : Text.wrapParts(notes, limit)) {
            out.append(s).append('\n');
        }
        return out.toString();
    }

    /**
     * The summary line on its own, e.g.
     * {@code 4 nodes: 4 alive · 8 cores · 31.2 speed×cores · 12.0G free}.
     * Cores, speed and free memory count alive nodes only: that is what the
     * pool can give to new work now.
     */
    public static String summary(List<NodeView> nodes) {
        return String.join(Text.DOT, summaryParts(nodes));
    }

    private static List<String> summaryParts(List<NodeView> nodes) {
        int cores = 0;
        double capacity = 0;
        long free = 0;
        for (NodeView n : nodes) {
            if (Text.isAlive(n)) {
                cores += Math.max(0, n.cores());
                if (n.cores() > 0 && n.speed() > 0) {
                    capacity += n.cores() * n.speed();
                }
                free += Math.max(0, n.memFreeBytes());
            }
        }
        return List.of(census(nodes),
                cores + (cores == 1 ? " core" : " cores"),
                Units.fixed(capacity, 1) + " speed×cores",
                Units.bytes(free) + " free");
    }

    /** How many nodes and in which states: {@code 5 nodes: 4 alive, 1 dead}. */
    static String census(List<NodeView> nodes) {
        Map<String, Integer> byState = new LinkedHashMap<>();
        for (String s : List.of("alive", "suspect", "leaving", "dead", "left")) {
            byState.put(s, 0);
        }
        for (NodeView n : nodes) {
            byState.merge(n.state() == null ? "unknown" : n.state(), 1, Integer::sum);
        }
        List<String> states = new ArrayList<>();
        byState.forEach((state, count) -> {
            if (count > 0 || state.equals("alive")) {
                states.add(count + " " + state);
            }
        });
        return nodes.size() + (nodes.size() == 1 ? " node: " : " nodes: ") + String.join(", ", states);
    }

    private static boolean gone(NodeView n) {
        return "dead".equals(n.state()) || "left".equals(n.state());
    }

    private static String stateColour(String state) {
        if (state == null) {
            return YELLOW;
        }
        return switch (state) {
            case "alive" -> null;
            case "dead" -> RED;
            case "left" -> DIM;
            default -> YELLOW;
        };
    }

    private static int natural(Column c, List<NodeView> nodes, boolean shortHeader) {
        int w = (shortHeader ? c.shortHeader : c.header).length();
        for (NodeView n : nodes) {
            w = Math.max(w, c.cell.apply(n).length());
        }
        return w;
    }

    private static int[] widths(List<Column> columns, List<NodeView> nodes, boolean shortHeaders) {
        int[] w = new int[columns.size()];
        for (int i = 0; i < w.length; i++) {
            w[i] = natural(columns.get(i), nodes, shortHeaders);
        }
        return w;
    }

    private static int total(int[] widths) {
        int sum = GAP.length() * Math.max(0, widths.length - 1);
        for (int w : widths) {
            sum += w;
        }
        return sum;
    }

    private static void line(StringBuilder out, List<String> cells, List<Column> columns, int[] widths, int limit,
                             String lineStyle, int styledCell, String cellStyle) {
        StringBuilder plain = new StringBuilder();
        int styledFrom = -1;
        int styledTo = -1;
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                plain.append(GAP);
            }
            String cell = Text.fit(cells.get(i), widths[i]);
            if (i == styledCell) {
                styledFrom = plain.length();
            }
            plain.append(columns.get(i).right ? Text.padLeft(cell, widths[i]) : Text.padRight(cell, widths[i]));
            if (i == styledCell) {
                styledTo = plain.length();
            }
        }
        String text = Text.clip(plain.toString().stripTrailing(), limit);
        if (lineStyle != null) {
            text = lineStyle + text + RESET;
        } else if (cellStyle != null && styledFrom >= 0 && styledFrom < text.length()) {
            int to = Math.min(styledTo, text.length());
            text = text.substring(0, styledFrom) + cellStyle + text.substring(styledFrom, to) + RESET
                    + text.substring(to);
        }
        out.append(text).append('\n');
    }
}
