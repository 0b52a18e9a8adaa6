package io.herd.scheduler;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A condition on a host, as given with {@code --on}:
 * {@code mem>=8G && speed>1.5 && label==fast}, {@code cores>=4 || name==alpha},
 * {@code !(load>1.5)}, {@code gpu=="a100"}.
 *
 * <h2>Attributes</h2>
 * <pre>
 *   name      node name (== and != only)
 *   cores     logical cores
 *   speed     calibrated speed per core
 *   load      one-minute load average
 *   cpu       CPU busy, percent
 *   mem       free memory, bytes
 *   memtotal  physical memory, bytes
 *   slots     free guest slots
 *   label     label==X: the node has label X; label!=X: it has not (== and != only)
 *   other     the value of that label: gpu=="a100" tests labels[gpu]
 * </pre>
 * A built-in name wins over a label of the same name.
 *
 * <h2>Values and comparisons</h2>
 * Numbers may carry a binary size suffix: {@code 512M}, {@code 8G}, {@code 1.5T}
 * ({@code 8GiB} and {@code 8GB} are read as {@code 8G}). Strings are bare words
 * ({@code fast}, {@code x86_64}) or quoted ({@code "a100"}, {@code 'big box'}).
 * Built-in numbers compare numerically and need a number. A label value
 * compares numerically when both sides are numbers, else as text, where only
 * == and != apply (ordering a text value is false). A label the node does
 * not have makes every comparison false except {@code !=}, which is true,
 * so {@code x!=v} always means {@code !(x==v)}. A name that is neither
 * built in nor a label anywhere is simply missing; {@link #missingLabels}
 * lets the CLI warn about a likely typo.
 *
 * <p>{@code !} binds tightest, then {@code &&}, then {@code ||}.
 * {@link #toString()} prints a canonical form that {@link #parse} reads back
 * to an equal constraint.
 */
public final class Constraint {

    /** No condition: every host passes. Parsed from a blank expression; prints as "". */
    public static final Constraint ALWAYS = new Constraint(new Expr.Always());

    /** The built-in attribute names; any other name is a label key. */
    public static final Set<String> BUILT_INS = Set.copyOf(Expr.Attribute.BUILT_IN.keySet());

    private final Expr root;

    Constraint(Expr root) {
        this.root = root;
    }

    /**
     * Parses an expression; a blank one is {@link #ALWAYS}.
     *
     * @throws ParseException (an {@link IllegalArgumentException}) saying where and what was expected
     */
    public static Constraint parse(String expression) {
        Expr e = ConstraintParser.parse(expression == null ? "" : expression);
        return e instanceof Expr.Always ? ALWAYS : new Constraint(e);
    }

    public boolean test(HostView host) {
        return root.test(host);
    }

    /** The attribute names the expression uses, in order of appearance ({@code label} for {@code label==X}). */
    public Set<String> referencedAttributes() {
        List<String> names = new ArrayList<>();
        root.attributes(names);
        return new LinkedHashSet<>(names);
    }

    /**
     * Labels the expression asks about that none of {@code hosts} carries:
     * X of {@code label==X} and every non-built-in key. A typo shows up here.
     */
    public Set<String> missingLabels(Collection<HostView> hosts) {
        Set<String> wanted = new TreeSet<>();
        collectLabels(root, wanted);
        for (HostView h : hosts) wanted.removeAll(h.labels().keySet());
        return wanted;
    }

    private static void collectLabels(Expr e, Set<String> out) {
        if (e instanceof Expr.Compare c) {
            switch (c.kind()) {
                case LABEL -> out.add(c.value().text());
                case LABEL_VALUE -> out.add(c.attribute());
                default -> { }
            }
        } else if (e instanceof Expr.And a) {
            a.terms().forEach(t -> collectLabels(t, out));
        } else if (e instanceof Expr.Or o) {
            o.terms().forEach(t -> collectLabels(t, out));
        } else if (e instanceof Expr.Not n) {
            collectLabels(n.operand(), out);
        }
    }

    Expr root() {
        return root;
    }

    /** Why the host fails this constraint, e.g. {@code speed>1.5 is false (speed is 1.2)}. */
    String whyFalse(HostView host) {
        return root.whyFalse(host);
    }

    /** False only if no load, free memory or free slots could make it true on this host. */
    boolean possible(HostView host) {
        return root.possible(host) != Expr.Tri.FALSE;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Constraint c && c.root.equals(root);
    }

    @Override
    public int hashCode() {
        return root.hashCode();
    }

    /** The canonical form, which {@link #parse} reads back to an equal constraint. */
    @Override
    public String toString() {
        return Expr.text(root);
    }

    /**
     * A bad expression: where, and what was expected there. The message is the
     * user's whole story, e.g.
     * <pre>
     * bad --on expression at 7: expected a value after '&gt;=' in 'mem&gt;= &amp;&amp; x'
     *   mem&gt;= &amp;&amp; x
     *         ^
     * </pre>
     */
    public static final class ParseException extends IllegalArgumentException {
        private final String expression;
        private final int column;
        private final String problem;

        ParseException(String expression, int column, String problem) {
            super("bad --on expression at " + column + ": " + problem + " in '" + expression + "'\n  "
                    + expression + "\n  " + " ".repeat(column - 1) + "^");
            this.expression = expression;
            this.column = column;
            this.problem = problem;
        }

        public String expression() {
            return expression;
        }

        /** 1-based column where the problem starts (one past the end for a missing ending). */
        public int column() {
            return column;
        }

        /** What was wrong, e.g. {@code expected a value after '>='}. */
        public String problem() {
            return problem;
        }
    }
}
