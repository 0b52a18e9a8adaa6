package io.herd.scheduler;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The syntax tree of a {@link Constraint}. Package-private: users hold a
 * {@code Constraint}; the tree is here so the parser, the printer and the
 * property tests share one shape.
 */
sealed interface Expr permits Expr.Always, Expr.And, Expr.Or, Expr.Not, Expr.Compare {

    /** Binding strength when printing: a child weaker than its parent gets parentheses. */
    int OR = 1, AND = 2;

    boolean test(HostView h);

    /** Three-valued: could this hold on {@code h} if its load, free memory and free slots were anything possible? */
    Tri possible(HostView h);

    void print(StringBuilder out, int parentStrength);

    void attributes(Collection<String> out);

    /** For a false expression: the smallest part that is false and why, e.g. {@code speed>1.5 is false (speed is 1.2)}. */
    default String whyFalse(HostView h) {
        return this + " is false";
    }

    static String text(Expr e) {
        StringBuilder sb = new StringBuilder();
        e.print(sb, 0);
        return sb.toString();
    }

    enum Tri {
        TRUE, FALSE, UNKNOWN;

        static Tri of(boolean b) {
            return b ? TRUE : FALSE;
        }

        Tri not() {
            return this == TRUE ? FALSE : this == FALSE ? TRUE : UNKNOWN;
        }
    }

    record Always() implements Expr {
        @Override public boolean test(HostView h) {
            return true;
        }

        @Override public Tri possible(HostView h) {
            return Tri.TRUE;
        }

        @Override public void print(StringBuilder out, int parentStrength) {
        }

        @Override public void attributes(Collection<String> out) {
        }

        @Override public String toString() {
            return "";
        }
    }

    record And(List<Expr> terms) implements Expr {
        public And {
            terms = flatten(terms, And.class);
        }

        @Override public boolean test(HostView h) {
            for (Expr t : terms) if (!t.test(h)) return false;
            return true;
        }

        @Override public Tri possible(HostView h) {
            Tri all = Tri.TRUE;
            for (Expr t : terms) {
                Tri v = t.possible(h);
                if (v == Tri.FALSE) return Tri.FALSE;
                if (v == Tri.UNKNOWN) all = Tri.UNKNOWN;
            }
            return all;
        }

        @Override public void print(StringBuilder out, int parentStrength) {
            join(out, terms, " && ", AND, parentStrength);
        }

        @Override public void attributes(Collection<String> out) {
            terms.forEach(t -> t.attributes(out));
        }

        @Override public String whyFalse(HostView h) {
            for (Expr t : terms) if (!t.test(h)) return t.whyFalse(h);
            return Expr.super.whyFalse(h);
        }

        @Override public String toString() {
            return text(this);
        }
    }

    record Or(List<Expr> terms) implements Expr {
        public Or {
            terms = flatten(terms, Or.class);
        }

        @Override public boolean test(HostView h) {
            for (Expr t : terms) if (t.test(h)) return true;
            return false;
        }

        @Override public Tri possible(HostView h) {
            Tri any = Tri.FALSE;
            for (Expr t : terms) {
                Tri v = t.possible(h);
                if (v == Tri.TRUE) return Tri.TRUE;
                if (v == Tri.UNKNOWN) any = Tri.UNKNOWN;
            }
            return any;
        }

        @Override public void print(StringBuilder out, int parentStrength) {
            join(out, terms, " || ", OR, parentStrength);
        }

        @Override public void attributes(Collection<String> out) {
            terms.forEach(t -> t.attributes(out));
        }

        @Override public String toString() {
            return text(this);
        }
    }

    record Not(Expr operand) implements Expr {
        public Not {
            if (operand == null || operand instanceof Always) throw new IllegalArgumentException("nothing to negate");
        }

        @Override public boolean test(HostView h) {
            return !operand.test(h);
        }

        @Override public Tri possible(HostView h) {
            return operand.possible(h).not();
        }

        @Override public void print(StringBuilder out, int parentStrength) {
            // Always parenthesised: "!(load>1.5)" reads unambiguously, "!load>1.5" does not.
            out.append("!(");
            operand.print(out, 0);
            out.append(')');
        }

        @Override public void attributes(Collection<String> out) {
            operand.attributes(out);
        }

        @Override public String toString() {
            return text(this);
        }
    }

    enum Op {
        EQ("=="), NE("!="), LT("<"), LE("<="), GT(">"), GE(">=");

        final String symbol;

        Op(String symbol) {
            this.symbol = symbol;
        }

        static Op of(String symbol) {
            for (Op op : values()) if (op.symbol.equals(symbol)) return op;
            throw new IllegalArgumentException(symbol);
        }

        boolean ordering() {
            return this != EQ && this != NE;
        }

        boolean holds(double a, double b) {
            return switch (this) {
                case EQ -> a == b;
                case NE -> a != b;
                case LT -> a < b;
                case LE -> a <= b;
                case GT -> a > b;
                case GE -> a >= b;
            };
        }

        /** Three-valued: does {@code x op b} hold for every x in [lo, hi], for none, or for some? */
        Tri holdsOver(double lo, double hi, double b) {
            boolean all, none;
            switch (this) {
                case EQ -> { all = lo == b && hi == b; none = b < lo || b > hi; }
                case NE -> { return EQ.holdsOver(lo, hi, b).not(); }
                case LT -> { all = hi < b; none = lo >= b; }
                case LE -> { all = hi <= b; none = lo > b; }
                case GT -> { all = lo > b; none = hi <= b; }
                default -> { all = lo >= b; none = hi < b; }
            }
            return all ? Tri.TRUE : none ? Tri.FALSE : Tri.UNKNOWN;
        }
    }

    /**
     * A value in an expression: a number (with its text as written, so
     * {@code 8G} prints back as {@code 8G}) or a string.
     */
    record Literal(String text, Double number) {
        private static final Pattern BARE = Pattern.compile("[\\p{L}\\p{Nd}_.:/+-]+");

        /** A bare word: a number if it reads as one, else a string. */
        static Literal word(String text) {
            return new Literal(text, Units.parseNumber(text));
        }

        static Literal string(String text) {
            return new Literal(text, null);
        }

        boolean numeric() {
            return number != null;
        }

        String printed() {
            StringBuilder sb = new StringBuilder();
            print(sb);
            return sb.toString();
        }

        void print(StringBuilder out) {
            if (numeric() || (BARE.matcher(text).matches() && Units.parseNumber(text) == null)) {
                out.append(text);
                return;
            }
            out.append('"');
            for (char c : text.toCharArray()) {
                if (c == '"' || c == '\\') out.append('\\');
                out.append(c);
            }
            out.append('"');
        }
    }

    /**
     * {@code attribute op value}. Built-in attributes are read from the view;
     * {@code label==X} tests that the node has label X; any other name is a
     * label key whose value is compared.
     */
    record Compare(String attribute, Op op, Literal value, Attribute.Kind kind) implements Expr {

        /** {@code kind} is derived from the name; a component only so it is looked up once, not per test. */
        Compare(String attribute, Op op, Literal value) {
            this(attribute, op, value, Attribute.kind(attribute));
        }

        public Compare {
            if (kind != Attribute.kind(attribute)) throw new IllegalArgumentException("kind of " + attribute);
        }

        @Override public boolean test(HostView h) {
            return switch (kind) {
                case NUMBER -> op.holds(Attribute.number(attribute, h), value.number());
                case TEXT -> op == Op.EQ ? h.name().equals(value.text()) : !h.name().equals(value.text());
                case LABEL -> h.labels().containsKey(value.text()) == (op == Op.EQ);
                case LABEL_VALUE -> labelValue(h.labels().get(attribute));
            };
        }

        private boolean labelValue(String actual) {
            // A missing label: every comparison is false except !=, so that x!=v is always !(x==v).
            if (actual == null) return op == Op.NE;
            Double n = value.numeric() ? Units.parseNumber(actual) : null;
            if (n != null) return op.holds(n, value.number());
            return switch (op) {
                case EQ -> actual.equals(value.text());
                case NE -> !actual.equals(value.text());
                default -> false; // text has no order
            };
        }

        @Override public Tri possible(HostView h) {
            if (kind != Attribute.Kind.NUMBER || !Attribute.dynamic(attribute)) {
                return Tri.of(test(h));
            }
            double now = Attribute.number(attribute, h);
            double hi = switch (attribute) {
                case "mem" -> Math.max(h.memTotalBytes(), h.memFreeBytes());
                case "cpu" -> Math.max(100, h.cpuPercent());
                case "slots" -> Math.max(h.guestSlots(), now);
                default -> Double.POSITIVE_INFINITY; // load
            };
            return op.holdsOver(Math.min(0, now), hi, value.number());
        }

        @Override public void print(StringBuilder out, int parentStrength) {
            out.append(attribute).append(op.symbol);
            value.print(out);
        }

        @Override public void attributes(Collection<String> out) {
            out.add(attribute);
        }

        @Override public String whyFalse(HostView h) {
            String because = switch (kind) {
                case NUMBER -> attribute + " is " + Attribute.show(attribute, h);
                case TEXT -> "name is " + h.name();
                case LABEL -> (op == Op.EQ ? "no label " : "has label ") + value.text();
                case LABEL_VALUE -> {
                    String v = h.labels().get(attribute);
                    yield v == null ? "no label " + attribute : attribute + " is " + Literal.string(v).printed();
                }
            };
            return this + " is false (" + because + ")";
        }

        @Override public String toString() {
            return text(this);
        }
    }

    private static List<Expr> flatten(List<Expr> terms, Class<? extends Expr> kind) {
        List<Expr> flat = new ArrayList<>();
        for (Expr t : terms) {
            if (t instanceof Always) throw new IllegalArgumentException("ALWAYS inside an expression");
            if (t instanceof And a && kind == And.class) flat.addAll(a.terms());
            else if (t instanceof Or o && kind == Or.class) flat.addAll(o.terms());
            else flat.add(t);
        }
        if (flat.size() < 2) throw new IllegalArgumentException("needs two terms or more");
        return List.copyOf(flat);
    }

    private static void join(StringBuilder out, List<Expr> terms, String op, int strength, int parentStrength) {
        boolean parens = strength < parentStrength;
        if (parens) out.append('(');
        for (int i = 0; i < terms.size(); i++) {
            if (i > 0) out.append(op);
            terms.get(i).print(out, strength + 1);
        }
        if (parens) out.append(')');
    }

    /** The attributes a constraint can name, and how each is read from a {@link HostView}. */
    final class Attribute {
        enum Kind { NUMBER, TEXT, LABEL, LABEL_VALUE }

        static final Map<String, Kind> BUILT_IN = Map.of(
                "name", Kind.TEXT, "label", Kind.LABEL,
                "cores", Kind.NUMBER, "speed", Kind.NUMBER, "load", Kind.NUMBER, "cpu", Kind.NUMBER,
                "mem", Kind.NUMBER, "memtotal", Kind.NUMBER, "slots", Kind.NUMBER);

        /** Change while a node runs; everything else changes only when an admin acts. */
        private static final Set<String> DYNAMIC = Set.of("load", "cpu", "mem", "slots");

        private Attribute() {
        }

        static Kind kind(String attribute) {
            return BUILT_IN.getOrDefault(attribute, Kind.LABEL_VALUE);
        }

        static boolean dynamic(String attribute) {
            return DYNAMIC.contains(attribute);
        }

        static boolean isSize(String attribute) {
            return attribute.equals("mem") || attribute.equals("memtotal");
        }

        static double number(String attribute, HostView h) {
            return switch (attribute) {
                case "cores" -> h.cores();
                case "speed" -> h.speed();
                case "load" -> h.load1();
                case "cpu" -> h.cpuPercent();
                case "mem" -> h.memFreeBytes();
                case "memtotal" -> h.memTotalBytes();
                case "slots" -> h.freeSlots();
                default -> throw new IllegalArgumentException("not a number attribute: " + attribute);
            };
        }

        static String show(String attribute, HostView h) {
            double v = number(attribute, h);
            if (isSize(attribute)) return Units.size(v);
            if (attribute.equals("cpu")) return Units.decimal(v) + "%";
            return Units.decimal(v);
        }
    }
}
