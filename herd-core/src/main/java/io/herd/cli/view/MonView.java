package io.herd.cli.view;

import io.herd.membership.NodeView;
import org.jline.terminal.Attributes;
import org.jline.terminal.Size;
import org.jline.terminal.Terminal;
import org.jline.utils.InfoCmp.Capability;
import org.jline.utils.NonBlockingReader;

import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.CharsetEncoder;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * {@code herd mon}: the live view of the pool, after openMosix's {@code mosmon}.
 * One bar per node and metric, redrawn every second:
 *
 * <pre>
 * alpha*     load  [##############..............................]  1.53/4
 *            mem   [######################........................]  4.1G/7.8G
 *            speed [############################################]  3.4
 * gamma      dead, last heard 3m ago
 * </pre>
 *
 * Load is relative to the node's cores (a node with load = cores has a full
 * bar), memory is used of total, speed is relative to the fastest alive node.
 * A node that is not alive shows its state instead of bars: its figures are
 * stale and would only mislead.
 *
 * <p>All layout lives in the pure {@link #frame} so that it can be tested
 * without a terminal; {@link #run} only handles keys, timing and the terminal.
 */
public final class MonView {

    /** Which metrics to draw for each node; the keys {@code l m s a} switch between them. */
    public enum Mode {
        LOAD("load"), MEMORY("memory"), SPEED("speed"), ALL("all");

        private final String label;

        Mode(String label) {
            this.label = label;
        }

        List<Metric> metrics() {
            return switch (this) {
                case LOAD -> List.of(Metric.LOAD);
                case MEMORY -> List.of(Metric.MEM);
                case SPEED -> List.of(Metric.SPEED);
                case ALL -> List.of(Metric.LOAD, Metric.MEM, Metric.SPEED);
            };
        }
    }

    private enum Metric {
        LOAD("load"), MEM("mem"), SPEED("speed");

        final String label;

        Metric(String label) {
            this.label = label;
        }
    }

    static final long REFRESH_MILLIS = 1000;
    /** How long to wait for the rest of an escape sequence before taking ESC as the Esc key. */
    static final long ESC_MILLIS = 50;
    static final String KEYS = "q quit  l load  m memory  s speed  a all  ↑↓ PgUp PgDn scroll";
    static final String SHORT_KEYS = "q quit · l m s a mode · ↑↓ scroll";
    private static final int LABEL = 5;
    private static final String GAP = "  ";
    private static final int MAX_BAR = 100;
    private static final int MIN_BAR = 4;
    private static final DateTimeFormatter CLOCK =
            DateTimeFormatter.ofPattern("HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private final Supplier<List<NodeView>> source;
    private final String clusterName;
    private final long refreshNanos;

    // Drawn from the loop and from the resize handler (another thread), so guarded by drawLock.
    private final ReentrantLock drawLock = new ReentrantLock();
    private List<NodeView> nodes = List.of();
    private String problem;
    private Mode mode = Mode.ALL;
    private int scroll;
    private boolean asciiOnly;
    private volatile boolean quit;
    /** True while the screen is ours to draw on: after setup, until restore. */
    private boolean active;

    /**
     * @param source      the current cluster map; called once per refresh from the
     *                    thread that calls {@link #run}. If it throws, the last list
     *                    stays on screen with the error above it.
     * @param clusterName shown in the title; may be null
     */
    public MonView(Supplier<List<NodeView>> source, String clusterName) {
        this(source, clusterName, REFRESH_MILLIS);
    }

    /** For tests that need several refreshes without waiting seconds for them. */
    MonView(Supplier<List<NodeView>> source, String clusterName, long refreshMillis) {
        this.source = Objects.requireNonNull(source, "source");
        this.clusterName = clusterName;
        this.refreshNanos = TimeUnit.MILLISECONDS.toNanos(refreshMillis);
    }

    // ---------------------------------------------------------------- layout

    /** {@link #frame(List, String, int, int, Mode, int, Instant)} without a cluster name. */
    public static String frame(List<NodeView> nodes, int width, int height, Mode mode, int scroll, Instant now) {
        return frame(nodes, null, width, height, mode, scroll, now);
    }

    /**
     * The screen exactly as {@link #run} draws it: lines joined by {@code \n},
     * at most {@code height} of them and none longer than {@code width}. The key
     * help is always on the last line.
     *
     * @param scroll index (in name order) of the first node to show; clamped so
     *               that the last page is full
     * @param now    shown in the title, in UTC
     */
    public static String frame(List<NodeView> nodes, String clusterName, int width, int height, Mode mode,
                               int scroll, Instant now) {
        return String.join("\n", lines(nodes, clusterName, width, height, mode, scroll, now, null, true));
    }

    /**
     * For when stdout is not a terminal: one frame, all nodes, all metrics,
     * no escape codes and no key help. Returns the exit code, 0.
     */
    public static int printOnce(List<NodeView> nodes, PrintStream out, int width) {
        return printOnce(nodes, null, out, width);
    }

    /** {@link #printOnce(List, PrintStream, int)} with the cluster name in the title. */
    public static int printOnce(List<NodeView> nodes, String clusterName, PrintStream out, int width) {
        for (String line : lines(nodes, clusterName, width, Integer.MAX_VALUE, Mode.ALL, 0, Instant.now(), null,
                false)) {
            out.println(line);
        }
        out.flush();
        return 0;
    }

    /**
     * The node rows that fit in {@code rows} lines starting at {@code scroll}:
     * {@code first} inclusive, {@code end} exclusive, and whether a line is
     * kept for the "more" indicator.
     */
    private record Window(int first, int end, int maxScroll, boolean indicator) {
        int shown() {
            return end - first;
        }
    }

    private static int rowsOf(NodeView node, Mode mode) {
        return Text.isAlive(node) ? mode.metrics().size() : 1;
    }

    private static Window window(List<NodeView> sorted, Mode mode, int rows, int scroll) {
        int n = sorted.size();
        int total = 0;
        for (NodeView node : sorted) {
            total += rowsOf(node, mode);
        }
        if (total <= rows) {
            return new Window(0, n, 0, false);
        }
        int avail = Math.max(1, rows - 1);
        // The furthest one can scroll is where the last nodes exactly fill the page.
        int maxScroll = n - 1;
        int used = rowsOf(sorted.get(n - 1), mode);
        while (maxScroll > 0 && used + rowsOf(sorted.get(maxScroll - 1), mode) <= avail) {
            maxScroll--;
            used += rowsOf(sorted.get(maxScroll), mode);
        }
        int first = Math.max(0, Math.min(scroll, maxScroll));
        int end = first;
        int acc = 0;
        while (end < n && acc + rowsOf(sorted.get(end), mode) <= avail) {
            acc += rowsOf(sorted.get(end++), mode);
        }
        if (end == first) {
            end = first + 1; // a page smaller than one node: show what fits of it
        }
        return new Window(first, end, maxScroll, rows > 1);
    }

    /** Rows left for nodes once the title, key help and error line are placed. */
    private static int bodyRows(int height, boolean interactive, boolean hasProblem) {
        if (!interactive) {
            return Integer.MAX_VALUE;
        }
        int rows = height - 1 - (height >= 3 ? 1 : 0) - (hasProblem ? 1 : 0);
        return Math.max(0, rows);
    }

    static List<String> lines(List<NodeView> nodes, String clusterName, int width, int height, Mode mode,
                              int scroll, Instant now, String problem, boolean interactive) {
        int w = Math.max(1, width);
        int h = Math.max(1, height);
        Objects.requireNonNull(mode, "mode");
        List<NodeView> sorted = Text.sorted(nodes);
        List<String> out = new ArrayList<>();

        String name = clusterName == null || clusterName.isBlank() ? "herd" : "herd" + Text.DOT + clusterName;
        String right = interactive ? mode.label + Text.DOT + CLOCK.format(now) : CLOCK.format(now);
        out.add(Text.spread(name + Text.DOT + NodesTable.census(sorted), right, w));
        if (h == 1) {
            return out;
        }
        if (problem != null) {
            out.add(Text.fit("! " + problem, w));
        }

        int rows = bodyRows(h, interactive, problem != null);
        Columns cols = Columns.of(sorted, mode, w);
        Window win = sorted.isEmpty() ? new Window(0, 0, 0, false) : window(sorted, mode, rows, scroll);
        List<String> body = new ArrayList<>();
        if (sorted.isEmpty()) {
            body.add("no nodes known yet");
        }
        for (int i = win.first; i < win.end; i++) {
            body.addAll(nodeRows(sorted.get(i), mode, cols, w));
        }
        int bodyLimit = win.indicator ? rows - 1 : rows;
        if (body.size() > bodyLimit) {
            body = body.subList(0, Math.max(0, bodyLimit));
        }
        out.addAll(body);
        if (win.indicator) {
            List<String> more = new ArrayList<>();
            if (win.first > 0) {
                more.add("↑ " + win.first + " above");
            }
            if (win.end < sorted.size()) {
                more.add("↓ " + (sorted.size() - win.end) + " more");
            }
            out.add(Text.fit(String.join("   ", more), w));
        }

        if (interactive && h >= 3) {
            while (out.size() < h - 1) {
                out.add("");
            }
            String keys = KEYS.length() <= w ? KEYS : SHORT_KEYS;
            if (sorted.stream().anyMatch(NodeView::self) && keys.length() + 15 <= w) {
                keys = Text.spread(keys, "* this node", w);
            }
            out.add(Text.fit(keys, w));
        }
        return out.size() > h ? out.subList(0, h) : out;
    }

    /** Column widths of one frame, computed over all nodes so they do not jump while scrolling. */
    private record Columns(int name, int bar, double fastest) {
        static Columns of(List<NodeView> sorted, Mode mode, int width) {
            int name = 4;
            double fastest = 0;
            int value = 0;
            for (NodeView n : sorted) {
                name = Math.max(name, nameOf(n).length());
                if (Text.isAlive(n) && n.speed() > 0) {
                    fastest = Math.max(fastest, n.speed());
                }
            }
            for (NodeView n : sorted) {
                for (Metric m : mode.metrics()) {
                    value = Math.max(value, Math.max(valueOf(n, m, fastest).length(), widestValue(n, m)));
                }
            }
            name = Math.min(name, Math.max(8, width / 5));
            // name, gap, label, space, [bar], gap, value
            int bar = Math.min(MAX_BAR, width - name - GAP.length() - LABEL - 1 - GAP.length() - value);
            return new Columns(name, bar < MIN_BAR ? 0 : bar, fastest);
        }
    }

    /**
     * The widest value this node can show for the metric while its cores and
     * memory stay the same, so that bars keep their length from one second
     * to the next as loads change.
     */
    private static int widestValue(NodeView n, Metric m) {
        return switch (m) {
            case LOAD -> "99.99".length() + (n.cores() > 0 ? 1 + Integer.toString(n.cores()).length() : 0);
            case MEM -> {
                int total = Units.bytes(n.memTotalBytes()).length();
                yield Math.max("1023M".length(), total) + 1 + total;
            }
            case SPEED -> 0;
        };
    }

    private static String nameOf(NodeView n) {
        return (n.name() == null ? "?" : n.name()) + (n.self() ? NodesTable.SELF_MARK : "");
    }

    private static List<String> nodeRows(NodeView node, Mode mode, Columns cols, int width) {
        String name = nameOf(node);
        if (name.length() > cols.name) {
            String mark = node.self() ? NodesTable.SELF_MARK : "";
            name = Text.fit(name.substring(0, name.length() - mark.length()), cols.name - mark.length()) + mark;
        }
        String blank = " ".repeat(cols.name);
        List<String> rows = new ArrayList<>();
        if (!Text.isAlive(node)) {
            String heard = node.lastHeardSeconds() >= 0
                    ? "last heard " + Units.duration(node.lastHeardSeconds()) + " ago"
                    : "never heard from";
            rows.add(Text.fit(Text.padRight(name, cols.name) + GAP + Text.orDash(node.state()) + ", " + heard,
                    width));
            return rows;
        }
        boolean firstRow = true;
        for (Metric m : mode.metrics()) {
            StringBuilder row = new StringBuilder();
            row.append(firstRow ? Text.padRight(name, cols.name) : blank).append(GAP);
            row.append(Text.padRight(m.label, LABEL)).append(' ');
            if (cols.bar > 0) {
                row.append(bar(fraction(node, m, cols.fastest), cols.bar)).append(GAP);
            }
            row.append(valueOf(node, m, cols.fastest));
            rows.add(Text.fit(row.toString(), width));
            firstRow = false;
        }
        return rows;
    }

    /** How full the bar is, 0..1, or NaN when the node did not report what is needed. */
    private static double fraction(NodeView n, Metric m, double fastest) {
        return switch (m) {
            case LOAD -> n.cores() > 0 && n.load() >= 0 ? n.load() / n.cores() : Double.NaN;
            case MEM -> n.memTotalBytes() > 0 && n.memFreeBytes() >= 0
                    ? (double) Math.max(0, n.memTotalBytes() - n.memFreeBytes()) / n.memTotalBytes()
                    : Double.NaN;
            case SPEED -> fastest > 0 && n.speed() > 0 ? n.speed() / fastest : Double.NaN;
        };
    }

    private static String valueOf(NodeView n, Metric m, double fastest) {
        return switch (m) {
            case LOAD -> n.load() < 0 ? Units.UNKNOWN
                    : Units.fixed(n.load(), 2) + (n.cores() > 0 ? "/" + n.cores() : "");
            case MEM -> n.memTotalBytes() > 0 && n.memFreeBytes() >= 0
                    ? Units.bytes(Math.max(0, n.memTotalBytes() - n.memFreeBytes())) + "/"
                    + Units.bytes(n.memTotalBytes())
                    : Units.UNKNOWN;
            case SPEED -> n.speed() > 0 ? Units.fixed(n.speed(), 1) : Units.UNKNOWN;
        };
    }

    static String bar(double fraction, int width) {
        int inner = width - 2;
        int filled = Double.isNaN(fraction) ? 0
                : (int) Math.round(Math.max(0, Math.min(1, fraction)) * inner);
        return "[" + "#".repeat(filled) + ".".repeat(inner - filled) + "]";
    }

    // ---------------------------------------------------------------- terminal

    /**
     * Shows the view until the user presses {@code q}, Esc or Ctrl-C, then puts
     * the terminal back as it was (screen, attributes, cursor), also when
     * something fails. On a terminal that cannot move the cursor it prints one
     * frame instead.
     *
     * @return 0 when the user quit (or input ended), 1 when the terminal failed
     */
    public int run(Terminal terminal) {
        Objects.requireNonNull(terminal, "terminal");
        refresh();
        if (!canDrawFullScreen(terminal)) {
            PrintWriter writer = terminal.writer();
            List<String> frame = lines(nodes, clusterName, terminal.getWidth() > 0 ? terminal.getWidth() : 80,
                    Integer.MAX_VALUE, Mode.ALL, 0, Instant.now(), problem, false);
            frame.forEach(writer::println);
            writer.flush();
            return 0;
        }
        CharsetEncoder encoder = terminal.encoding().newEncoder();
        asciiOnly = !encoder.canEncode("↑↓·…");
        quit = false;
        Attributes saved = terminal.getAttributes();
        Terminal.SignalHandler oldWinch = null;
        Terminal.SignalHandler oldInt = null;
        String failure = null;
        try {
            oldWinch = terminal.handle(Terminal.Signal.WINCH, signal -> redrawAfterResize(terminal));
            // With ISIG off (below) Ctrl-C arrives as a key; this covers kill -INT.
            oldInt = terminal.handle(Terminal.Signal.INT, signal -> quit = true);
            terminal.enterRawMode();
            Attributes raw = terminal.getAttributes();
            raw.setLocalFlag(Attributes.LocalFlag.ISIG, false);
            terminal.setAttributes(raw);
            terminal.puts(Capability.enter_ca_mode);
            terminal.puts(Capability.keypad_xmit);
            terminal.puts(Capability.cursor_invisible);
            active = true;
            draw(terminal, true);
            loop(terminal);
        } catch (IOException e) {
            failure = "herd mon: lost the terminal (" + e.getMessage() + "); 'herd nodes' lists the nodes once";
        } finally {
            restore(terminal, saved, oldWinch, oldInt);
        }
        if (failure != null) {
            terminal.writer().println(failure);
            terminal.writer().flush();
            return 1;
        }
        return 0;
    }

    private void loop(Terminal terminal) throws IOException {
        NonBlockingReader reader = terminal.reader();
        long nextRefresh = System.nanoTime() + refreshNanos;
        while (!quit) {
            long waitNanos = nextRefresh - System.nanoTime();
            if (waitNanos <= 0) {
                refresh();
                draw(terminal, false);
                nextRefresh = System.nanoTime() + refreshNanos;
                continue;
            }
            // Wait for a key only until the next refresh is due, so keys never delay the clock.
            int c = reader.read(Math.max(1, TimeUnit.NANOSECONDS.toMillis(waitNanos + 999_999)));
            if (c == NonBlockingReader.READ_EXPIRED) {
                continue;
            }
            if (c == NonBlockingReader.EOF) {
                return;
            }
            Key key = Key.decode(c, reader);
            if (key == Key.QUIT) {
                return;
            }
            if (key != Key.NONE) {
                onKey(terminal, key);
            }
        }
    }

    /** What a keystroke means here; escape sequences from arrows and PgUp/PgDn are folded into one. */
    enum Key {
        NONE, QUIT, LOAD, MEMORY, SPEED, ALL, UP, DOWN, PAGE_UP, PAGE_DOWN, HOME, END, REDRAW;

        static Key decode(int c, NonBlockingReader reader) throws IOException {
            switch (c) {
                case 'q', 'Q', 3, 4:
                    return QUIT; // 3 = Ctrl-C, 4 = Ctrl-D
                case 'l', 'L':
                    return LOAD;
                case 'm', 'M':
                    return MEMORY;
                case 's', 'S':
                    return SPEED;
                case 'a', 'A':
                    return ALL;
                case 'k':
                    return UP;
                case 'j':
                    return DOWN;
                case ' ':
                    return PAGE_DOWN;
                case 12:
                    return REDRAW; // Ctrl-L
                case 27:
                    return escape(reader);
                default:
                    return NONE;
            }
        }

        private static Key escape(NonBlockingReader reader) throws IOException {
            int c = reader.read(ESC_MILLIS);
            if (c == NonBlockingReader.READ_EXPIRED || c == NonBlockingReader.EOF) {
                return QUIT; // a lone Esc
            }
            if (c != '[' && c != 'O') {
                return NONE; // Alt+key
            }
            StringBuilder seq = new StringBuilder();
            while (seq.length() < 16) {
                int d = reader.read(ESC_MILLIS);
                if (d < 0) {
                    return NONE;
                }
                seq.append((char) d);
                if (d >= 0x40 && d <= 0x7E) {
                    break; // final byte of a CSI or SS3 sequence
                }
            }
            return switch (seq.toString()) {
                case "A" -> UP;
                case "B" -> DOWN;
                case "5~" -> PAGE_UP;
                case "6~" -> PAGE_DOWN;
                case "H", "1~", "7~" -> HOME;
                case "F", "4~", "8~" -> END;
                default -> NONE;
            };
        }
    }

    private void onKey(Terminal terminal, Key key) {
        drawLock.lock();
        try {
            Size size = sizeOf(terminal);
            List<NodeView> sorted = Text.sorted(nodes);
            int rows = bodyRows(size.getRows(), true, problem != null);
            switch (key) {
                case LOAD -> mode = Mode.LOAD;
                case MEMORY -> mode = Mode.MEMORY;
                case SPEED -> mode = Mode.SPEED;
                case ALL -> mode = Mode.ALL;
                default -> {
                }
            }
            if (!sorted.isEmpty()) {
                Window win = window(sorted, mode, rows, scroll);
                int page = Math.max(1, win.shown());
                int target = switch (key) {
                    case UP -> win.first - 1;
                    case DOWN -> win.first + 1;
                    case PAGE_UP -> win.first - page;
                    case PAGE_DOWN -> win.first + page;
                    case HOME -> 0;
                    case END -> win.maxScroll;
                    default -> win.first;
                };
                scroll = Math.max(0, Math.min(target, win.maxScroll));
            }
            draw(terminal, key == Key.REDRAW);
        } finally {
            drawLock.unlock();
        }
    }

    private void refresh() {
        List<NodeView> fresh;
        String failure = null;
        try {
            fresh = source.get();
            if (fresh == null) {
                failure = "the node list is not available yet";
            }
        } catch (RuntimeException e) {
            fresh = null;
            failure = "cannot read the node list: " + (e.getMessage() == null ? e : e.getMessage())
                    + "; retrying, figures below are stale";
        }
        drawLock.lock();
        try {
            if (fresh != null) {
                nodes = List.copyOf(fresh);
            }
            problem = failure;
        } finally {
            drawLock.unlock();
        }
    }

    private void redrawAfterResize(Terminal terminal) {
        try {
            draw(terminal, true);
        } catch (RuntimeException e) {
            // The next regular refresh draws again; a failed resize redraw must not kill the signal thread.
        }
    }

    private void draw(Terminal terminal, boolean clearFirst) {
        drawLock.lock();
        try {
            if (!active) {
                return;
            }
            Size size = sizeOf(terminal);
            int width = size.getColumns();
            List<String> frame = lines(nodes, clusterName, width, size.getRows(), mode, scroll, Instant.now(),
                    problem, true);
            PrintWriter out = terminal.writer();
            if (clearFirst) {
                terminal.puts(Capability.clear_screen);
            }
            for (int i = 0; i < frame.size(); i++) {
                String line = asciiOnly ? ascii(frame.get(i)) : frame.get(i);
                terminal.puts(Capability.cursor_address, i, 0);
                if (i == 0) {
                    terminal.puts(Capability.enter_reverse_mode);
                }
                out.print(line);
                if (i == 0) {
                    terminal.puts(Capability.exit_attribute_mode);
                }
                // A full line leaves the cursor in the wrap-pending state, where
                // clearing to the end of the line would erase its last character.
                if (line.length() < width) {
                    terminal.puts(Capability.clr_eol);
                }
            }
            if (frame.size() < size.getRows()) {
                terminal.puts(Capability.cursor_address, frame.size(), 0);
                terminal.puts(Capability.clr_eos);
            }
            terminal.flush();
        } finally {
            drawLock.unlock();
        }
    }

    private void restore(Terminal terminal, Attributes saved, Terminal.SignalHandler oldWinch,
                         Terminal.SignalHandler oldInt) {
        quit = true;
        drawLock.lock();
        try {
            active = false;
            terminal.puts(Capability.exit_attribute_mode);
            if (!terminal.puts(Capability.cursor_normal)) {
                terminal.puts(Capability.cursor_visible);
            }
            terminal.puts(Capability.keypad_local);
            if (!terminal.puts(Capability.exit_ca_mode)) {
                // No alternate screen: leave the last frame and put the prompt below it.
                terminal.puts(Capability.cursor_address, Math.max(0, sizeOf(terminal).getRows() - 1), 0);
                terminal.writer().println();
            }
            terminal.flush();
        } catch (RuntimeException e) {
            // Still restore the attributes below: a terminal left in raw mode is worse than a stray frame.
        } finally {
            drawLock.unlock();
            terminal.setAttributes(saved);
            if (oldWinch != null) {
                terminal.handle(Terminal.Signal.WINCH, oldWinch);
            }
            if (oldInt != null) {
                terminal.handle(Terminal.Signal.INT, oldInt);
            }
        }
    }

    private static boolean canDrawFullScreen(Terminal terminal) {
        String type = terminal.getType();
        return !Terminal.TYPE_DUMB.equals(type) && !Terminal.TYPE_DUMB_COLOR.equals(type)
                && terminal.getStringCapability(Capability.cursor_address) != null
                && terminal.getStringCapability(Capability.clear_screen) != null;
    }

    private static Size sizeOf(Terminal terminal) {
        Size size = terminal.getSize();
        int cols = size == null || size.getColumns() <= 0 ? 80 : size.getColumns();
        int rows = size == null || size.getRows() <= 0 ? 24 : size.getRows();
        return new Size(cols, rows);
    }

    /** For terminals whose encoding has no arrows: same width, plain ASCII. */
    static String ascii(String s) {
        return s.replace('↑', '^').replace('↓', 'v').replace('·', '-').replace('…', '~').replace('×', 'x');
    }
}
