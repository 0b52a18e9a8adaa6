package io.herd.scheduler;

import io.herd.scheduler.Expr.Literal;
import io.herd.scheduler.Expr.Op;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.herd.scheduler.Hosts.G;
import static io.herd.scheduler.Hosts.host;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConstraintTest {

    static boolean on(String expr, Hosts h) {
        return Constraint.parse(expr).test(h.build());
    }

    // --- meaning ---------------------------------------------------------------

    @Test
    void theIssueExample() {
        String expr = "mem>=8G && speed>1.5 && label==fast";
        assertThat(on(expr, host("a").memFree(12 * G).speed(2).label("fast"))).isTrue();
        assertThat(on(expr, host("a").memFree(12 * G).speed(2))).as("no label fast").isFalse();
        assertThat(on(expr, host("a").memFree(4 * G).speed(2).label("fast"))).as("mem is free memory").isFalse();
        assertThat(on(expr, host("a").memFree(8 * G).speed(1.5).label("fast"))).as("speed>1.5 is strict").isFalse();
        assertThat(on(expr, host("a").memFree(8 * G).speed(1.51).label("fast"))).as("mem>=8G includes 8G").isTrue();
    }

    @Test
    void everyBuiltInAttribute() {
        Hosts h = host("alpha").cores(8).speed(4.5).load(1.25).cpu(37).memFree(3 * G).memTotal(32 * G).slots(4).guests(1);
        assertThat(on("name==alpha", h)).isTrue();
        assertThat(on("name!=alpha", h)).isFalse();
        assertThat(on("cores==8 && cores>7 && cores<9 && cores<=8 && cores>=8 && cores!=7", h)).isTrue();
        assertThat(on("speed>4.4 && speed<4.6", h)).isTrue();
        assertThat(on("load>1.2 && load<1.3", h)).isTrue();
        assertThat(on("cpu>=37 && cpu<38", h)).isTrue();
        assertThat(on("mem==3G && memtotal==32G", h)).isTrue();
        assertThat(on("slots==3", h)).as("free guest slots").isTrue();
    }

    @Test
    void labelMembershipAndLabelValues() {
        Hosts h = host("a").label("fast").label("gpu", "a100").label("gpus", "4").label("rack", "01");
        assertThat(on("label==fast", h)).isTrue();
        assertThat(on("label!=fast", h)).isFalse();
        assertThat(on("label==slow", h)).isFalse();
        assertThat(on("label!=slow", h)).isTrue();
        assertThat(on("gpu==\"a100\"", h)).isTrue();
        assertThat(on("gpu==a100", h)).isTrue();
        assertThat(on("gpu=='h100'", h)).isFalse();
        assertThat(on("gpus>=2 && gpus<8", h)).as("numeric label values compare as numbers").isTrue();
        assertThat(on("rack==1", h)).as("01 is the number 1").isTrue();
        assertThat(on("rack==\"1\"", h)).as("quoted: text").isFalse();
        assertThat(on("gpu>2", h)).as("text has no order").isFalse();
    }

    @Test
    void aMissingAttributeIsFalseExceptNotEqual() {
        Hosts h = host("a");
        assertThat(on("gpu==a100", h)).isFalse();
        assertThat(on("gpus>=1", h)).isFalse();
        assertThat(on("gpus<1", h)).isFalse();
        assertThat(on("gpu!=a100", h)).as("!= is always the negation of ==").isTrue();
        assertThat(on("!(gpu==a100)", h)).isTrue();
    }

    @Test
    void builtInNamesWinOverLabels() {
        assertThat(on("cores==4", host("a").cores(4).label("cores", "99"))).isTrue();
    }

    @Test
    void sizesAreBinary() {
        Hosts h = host("a").memFree(8L << 30);
        assertThat(on("mem==8G", h)).isTrue();
        assertThat(on("mem==8192M", h)).isTrue();
        assertThat(on("mem==8388608K", h)).isTrue();
        assertThat(on("mem==8GiB && mem==8GB && mem==8g", h)).isTrue();
        assertThat(on("mem<0.5T", h)).isTrue();
        assertThat(on("mem==8589934592", h)).isTrue();
    }

    @Test
    void precedenceNotThenAndThenOr() {
        Hosts a = host("n").label("a", "1");
        Hosts c = host("n").label("c", "1");
        // a || b && c  ==  a || (b && c)
        assertThat(on("a==1 || b==1 && c==1", a)).isTrue();
        assertThat(on("a==1 || b==1 && c==1", c)).isFalse();
        assertThat(on("(a==1 || b==1) && c==1", a)).isFalse();
        assertThat(on("b==1 && c==1 || a==1", a)).isTrue();
        // ! binds to the comparison: !a==1 && c==1  ==  (!(a==1)) && c==1
        assertThat(on("!a==1 && c==1", c)).isTrue();
        assertThat(on("!(a==1 && c==1)", c)).isTrue();
        assertThat(on("!!a==1", a)).isTrue();
        assertThat(Constraint.parse("a==1 || b==1 && c==1").toString()).isEqualTo("a==1 || b==1 && c==1");
        assertThat(Constraint.parse("(a==1 || b==1) && c==1").toString()).isEqualTo("(a==1 || b==1) && c==1");
        assertThat(Constraint.parse("!a==1 && c==1").toString()).isEqualTo("!(a==1) && c==1");
        assertThat(Constraint.parse("((a==1))").toString()).isEqualTo("a==1");
        assertThat(Constraint.parse("a==1 && (b==1 && c==1)")).isEqualTo(Constraint.parse("a==1 && b==1 && c==1"));
    }

    @Test
    void blankIsAlways() {
        assertThat(Constraint.parse("")).isSameAs(Constraint.ALWAYS);
        assertThat(Constraint.parse("  \t")).isSameAs(Constraint.ALWAYS);
        assertThat(Constraint.parse(null)).isSameAs(Constraint.ALWAYS);
        assertThat(Constraint.ALWAYS.toString()).isEmpty();
        assertThat(Constraint.ALWAYS.test(host("a").state("dead").build())).isTrue();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '§', value = {
            "mem >= 8G&&speed>1.5 § mem>=8G && speed>1.5",
            "gpu=='a100' § gpu==a100",
            "rack==\"8\" § rack==\"8\"",
            "owner==\"Ann Lee\" § owner==\"Ann Lee\"",
            "path=='/opt/x' || arch==x86_64 § path==/opt/x || arch==x86_64",
            "note==\"say \\\"hi\\\" \\\\o/\" § note==\"say \\\"hi\\\" \\\\o/\"",
            "empty==\"\" § empty==\"\"",
            "  !( load > 1.5 ) § !(load>1.5)",
            "cores>=4 || name==alpha § cores>=4 || name==alpha",
            "name==node-1.lab § name==node-1.lab",
            "load>-1 § load>-1",
    })
    void printsACanonicalFormThatReadsBack(String written, String canonical) {
        Constraint c = Constraint.parse(written);
        assertThat(c.toString()).isEqualTo(canonical);
        assertThat(Constraint.parse(c.toString())).isEqualTo(c);
    }

    @Test
    void escapedQuotesSurvive() {
        Constraint c = Constraint.parse("note==\"say \\\"hi\\\" \\\\o/\"");
        assertThat(c.test(host("a").label("note", "say \"hi\" \\o/").build())).isTrue();
    }

    @Test
    void referencedAttributesAndMissingLabels() {
        Constraint c = Constraint.parse("mem>=8G && (label==fast || gpu==a100) && !(speed<1) && mem<64G");
        assertThat(c.referencedAttributes()).containsExactly("mem", "label", "gpu", "speed");
        List<HostView> hosts = List.of(host("a").label("fast").build(), host("b").build());
        assertThat(c.missingLabels(hosts)).containsExactly("gpu");
        assertThat(Constraint.parse("label==fsat").missingLabels(hosts)).containsExactly("fsat");
        assertThat(Constraint.ALWAYS.referencedAttributes()).isEmpty();
        assertThat(Constraint.BUILT_INS).contains("mem", "memtotal", "slots", "label", "name");
    }

    // --- errors ----------------------------------------------------------------

    @ParameterizedTest
    @CsvSource(delimiter = '§', value = {
            "mem>= && x § 7 § expected a value after '>='",
            "mem>= § 6 § expected a value after '>='",
            "mem 8G § 5 § expected an operator (==, !=, <, <=, >, >=) after 'mem'",
            "mem=8G § 4 § a single '=' is not an operator; use '=='",
            "a==1 & b==2 § 6 § a single '&' is not an operator; use '&&'",
            "a==1 | b==2 § 6 § a single '|' is not an operator; use '||'",
            "(a==1 § 6 § expected '&&', '||' or ')' to close the '(' at 1 after '1'",
            "(a==1 || (b==2 c==3) § 16 § expected '&&', '||' or ')' to close the '(' at 10 after '2'",
            "a==1) § 5 § unmatched ')'",
            "a==1 b==2 § 6 § expected '&&', '||' or the end after '1'",
            "a==\"x § 4 § unterminated string; close it with \"",
            "mem>=8G $ § 9 § unexpected character '$'",
            "cores>=four § 8 § expected a number after 'cores>=', not 'four'",
            "mem>=8X § 6 § expected a size such as 512M or 8G after 'mem>=', not '8X'",
            "cores==\"4\" § 8 § expected a number after 'cores==', not '4'",
            "name>alpha § 5 § expected == or != after 'name' (it has no order)",
            "label<fast § 6 § expected == or != after 'label' (it has no order)",
            "gpu>a100 § 5 § expected a number after 'gpu>', not 'a100'",
            ">=3 § 1 § expected an attribute such as mem or cores, '!' or '('",
            "4==cores § 1 § expected an attribute such as mem or cores, '!' or '('",
            "a==1 && § 8 § expected an attribute such as mem or cores, '!' or '(' after '&&'",
            "() § 2 § expected an attribute such as mem or cores, '!' or '(' after '('",
            "! § 2 § expected an attribute such as mem or cores, '!' or '(' after '!'",
            "a==1 || || b==1 § 9 § expected an attribute such as mem or cores, '!' or '(' after '||'",
    })
    void everyErrorSaysWhereAndWhatWasExpected(String expr, int column, String problem) {
        assertThatThrownBy(() -> Constraint.parse(expr))
                .isInstanceOf(IllegalArgumentException.class)
                .isInstanceOfSatisfying(Constraint.ParseException.class, e -> {
                    assertThat(e.column()).isEqualTo(column);
                    assertThat(e.problem()).isEqualTo(problem);
                    assertThat(e.expression()).isEqualTo(expr);
                    String[] lines = e.getMessage().split("\n");
                    assertThat(lines[0]).isEqualTo("bad --on expression at " + column + ": " + problem + " in '" + expr + "'");
                    assertThat(lines[1]).isEqualTo("  " + expr);
                    assertThat(lines[2]).isEqualTo("  " + " ".repeat(column - 1) + "^");
                });
    }

    @Test
    void theBriefsExampleMessage() {
        assertThatThrownBy(() -> Constraint.parse("mem>= && x"))
                .hasMessageStartingWith("bad --on expression at 7: expected a value after '>=' in 'mem>= && x'");
    }

    // --- properties ------------------------------------------------------------

    @Property(tries = 300)
    void printingThenParsingGivesAnEqualConstraint(@ForAll("exprs") Expr e, @ForAll("hosts") HostView h) {
        Constraint c = new Constraint(e);
        Constraint back = Constraint.parse(c.toString());
        assertThat(back).isEqualTo(c);
        assertThat(back.toString()).isEqualTo(c.toString());
        assertThat(back.test(h)).isEqualTo(c.test(h));
    }

    @Property(tries = 500)
    void notEqualIsAlwaysTheNegationOfEqual(@ForAll("compares") Expr e, @ForAll("hosts") HostView h) {
        Expr.Compare c = (Expr.Compare) e;
        Op flip = c.op() == Op.EQ ? Op.NE : c.op() == Op.NE ? Op.EQ : null;
        if (flip == null) return;
        assertThat(new Expr.Compare(c.attribute(), flip, c.value()).test(h)).isEqualTo(!c.test(h));
    }

    @Property(tries = 300)
    void whatCannotEverHoldDoesNotHoldNow(@ForAll("exprs") Expr e, @ForAll("hosts") HostView h) {
        Constraint c = new Constraint(e);
        if (c.test(h)) assertThat(c.possible(h)).isTrue();
        if (!c.possible(h)) assertThat(c.whyFalse(h)).contains(" is false");
    }

    @Property(tries = 1000)
    void anyInputParsesOrFailsWithAParseException(@ForAll("noise") String input) {
        try {
            Constraint c = Constraint.parse(input);
            assertThat(Constraint.parse(c.toString())).isEqualTo(c);
        } catch (Constraint.ParseException e) {
            assertThat(e.column()).isBetween(1, input.length() + 1);
            assertThat(e.getMessage()).startsWith("bad --on expression at " + e.column() + ": ");
        }
    }

    @Provide
    Arbitrary<String> noise() {
        Arbitrary<String> pieces = Arbitraries.of("mem", "cores", "label", "name", "gpu", "fast", ">=", "<=", ">", "<",
                "==", "!=", "=", "!", "&&", "||", "&", "|", "(", ")", " ", "8G", "1.5", "'x'", "\"a b\"", "\"", "$", "-1");
        return pieces.list().ofMaxSize(12).map(l -> String.join("", l));
    }

    @Provide
    Arbitrary<Expr> exprs() {
        return expr(3);
    }

    private Arbitrary<Expr> expr(int depth) {
        if (depth == 0) return compares();
        Arbitrary<Expr> sub = expr(depth - 1);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, compares()),
                net.jqwik.api.Tuple.of(2, sub.list().ofMinSize(2).ofMaxSize(3).map(Expr.And::new)),
                net.jqwik.api.Tuple.of(2, sub.list().ofMinSize(2).ofMaxSize(3).map(Expr.Or::new)),
                net.jqwik.api.Tuple.of(1, sub.map(Expr.Not::new)));
    }

    private static final List<String> NUMBERS = List.of("cores", "speed", "load", "cpu", "mem", "memtotal", "slots");
    private static final List<String> KEYS = List.of("gpu", "rack", "zone.a", "os/arch");

    @Provide
    Arbitrary<Expr> compares() {
        Arbitrary<Op> ops = Arbitraries.of(Op.class);
        Arbitrary<Op> equality = Arbitraries.of(Op.EQ, Op.NE);
        Arbitrary<Literal> numbers = Arbitraries.of("0", "1", "4", "1.5", "0.25", "100", "8G", "512M", "-1", "1.", "2GiB")
                .map(Literal::word);
        Arbitrary<Literal> words = Arbitraries.of("alpha", "beta", "node-1", "fast", "a100", "x86_64", "10gbe")
                .map(Literal::word);
        Arbitrary<Literal> texts = Arbitraries.strings().withCharRange(' ', '~').withChars('é', '\u4e2d').ofMaxLength(6)
                .map(Literal::string);
        Arbitrary<Literal> values = Arbitraries.oneOf(numbers, words, texts);
        Arbitrary<Expr> numeric = Combinators.combine(Arbitraries.of(NUMBERS), ops, numbers).as(Expr.Compare::new);
        Arbitrary<Expr> name = Combinators.combine(Arbitraries.just("name"), equality, Arbitraries.oneOf(words, texts))
                .as(Expr.Compare::new);
        Arbitrary<Expr> label = Combinators.combine(Arbitraries.just("label"), equality, Arbitraries.oneOf(words, texts))
                .as(Expr.Compare::new);
        Arbitrary<Expr> keyOrdered = Combinators.combine(Arbitraries.of(KEYS), ops, numbers).as(Expr.Compare::new);
        Arbitrary<Expr> keyEqual = Combinators.combine(Arbitraries.of(KEYS), equality, values).as(Expr.Compare::new);
        return Arbitraries.oneOf(numeric, name, label, keyOrdered, keyEqual);
    }

    @Provide
    Arbitrary<HostView> hosts() {
        Arbitrary<Map<String, String>> labels = Arbitraries.maps(
                Arbitraries.of("gpu", "rack", "zone.a", "os/arch", "fast", "alpha"),
                Arbitraries.of("", "a100", "1", "4", "1.5", "alpha", "8G")).ofMaxSize(4);
        var shape = Combinators.combine(Arbitraries.of("alpha", "beta", "node-1"), Arbitraries.integers().between(1, 64),
                Arbitraries.of(0.5, 1.0, 1.5, 4.0, 5.25), Arbitraries.of(0.0, 0.25, 1.5, 4.0, 100.0),
                Arbitraries.integers().between(0, 8), Arbitraries.integers().between(0, 8)).as(
                (n, cores, speed, load, slots, guests) -> host(n).cores(cores).speed(speed).load(load).cpu(load)
                        .slots(slots).guests(Math.min(slots, guests)));
        return Combinators.combine(shape, labels, Arbitraries.of(0L, 512L << 20, 8 * G, 100 * G)).as((h, l, mem) -> {
            l.forEach(h::label);
            return h.memFree(mem).memTotal(Math.max(mem, 16 * G)).build();
        });
    }

    @Test
    void labelsDoNotLeakBetweenBuilders() {
        assertThat(host("a").build().labels()).isEmpty();
        assertThat(host("a").label("x").build().labels()).isEqualTo(Map.of("x", ""));
        assertThat(host("a").build().programs()).isEqualTo(Set.of("sh", "openssl"));
    }
}
