package io.herd.cli;

/** Terminal facts the plain (non-interactive) commands need. */
final class Terminals {
    private Terminals() {}

    /** The terminal's width when there is one; otherwise wide, so piped output is not truncated. */
    static int width(boolean tty) {
        if (!tty) return 200;
        String cols = System.getenv("COLUMNS");
        if (cols != null && cols.matches("\\d+")) return Integer.parseInt(cols);
        try (var t = org.jline.terminal.TerminalBuilder.builder().system(true).dumb(true).build()) {
            int w = t.getWidth();
            return w > 0 ? w : 80;
        } catch (Exception e) {
            return 80;
        }
    }
}
