package io.herd.cli.view;

import io.herd.membership.NodeView;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;

/** Small string helpers shared by the views. Every character the views print is one column wide. */
final class Text {

    static final String ELLIPSIS = "…";
    static final String DOT = " · ";

    /** Name order, nulls last, so every view lists the nodes the same way. */
    static final Comparator<NodeView> BY_NAME =
            Comparator.comparing(NodeView::name, Comparator.nullsLast(Comparator.naturalOrder()));

    private Text() {
    }

    static List<NodeView> sorted(List<NodeView> nodes) {
        List<NodeView> copy = new ArrayList<>(nodes.size());
        for (NodeView node : nodes) {
            copy.add(Objects.requireNonNull(node, "nodes must not contain null"));
        }
        copy.sort(BY_NAME);
        return copy;
    }

    static String orDash(String s) {
        return s == null || s.isBlank() ? Units.UNKNOWN : s;
    }

    static boolean isAlive(NodeView node) {
        return "alive".equals(node.state());
    }

    /** Cut to {@code width} columns, marking the cut with an ellipsis. */
    static String fit(String s, int width) {
        if (width <= 0) {
            return "";
        }
        if (s.length() <= width) {
            return s;
        }
        return width == 1 ? s.substring(0, 1) : s.substring(0, width - 1) + ELLIPSIS;
    }

    /** Cut to {@code width} columns without a marker (for lines that must just not overflow). */
    static String clip(String s, int width) {
        return s.length() <= width ? s : s.substring(0, Math.max(0, width));
    }

    static String padRight(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    static String padLeft(String s, int width) {
        return s.length() >= width ? s : " ".repeat(width - s.length()) + s;
    }

    /** {@code left} and {@code right} on one line of {@code width}, right-aligned; left is cut first. */
    static String spread(String left, String right, int width) {
        if (right.length() + 2 > width) {
            return fit(left, width);
        }
        String l = fit(left, width - right.length() - 2);
        return l + " ".repeat(width - l.length() - right.length()) + right;
    }

    /** Join {@code parts} with " · ", starting a new line rather than letting one pass {@code width}. */
    static List<String> wrapParts(List<String> parts, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String part : parts) {
            if (line.length() > 0 && line.length() + DOT.length() + part.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (line.length() > 0) {
                line.append(DOT);
            }
            line.append(part);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        lines.replaceAll(l -> fit(l, width));
        return lines;
    }
}
