package io.herd.cli.view;

import io.herd.cli.view.MonView.Mode;
import io.herd.membership.NodeView;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import static io.herd.cli.view.TestNodes.G;
import static io.herd.cli.view.TestNodes.node;
import static org.assertj.core.api.Assertions.assertThat;

class MonViewFrameTest {

    private static final Instant NOW = Instant.parse("2026-11-21T10:15:30Z");

    private static List<String> frame(List<NodeView> nodes, int width, int height, Mode mode, int scroll) {
        return List.of(MonView.frame(nodes, "lab", width, height, mode, scroll, NOW).split("\n", -1));
    }

    private static String row(List<String> lines, String start) {
        return lines.stream().filter(l -> l.startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting with " + start + " in\n"
                        + String.join("\n", lines)));
    }

    /** The bar of a row, without its brackets. */
    private static String bar(String row) {
        return row.substring(row.indexOf('[') + 1, row.indexOf(']'));
    }

    private static void assertFits(List<String> lines, int width, int height) {
        boolean fits = lines.size() <= height && lines.stream().allMatch(l -> l.length() <= width);
        if (!fits) {
            throw new AssertionError("frame does not fit " + width + "x" + height + ":\n" + String.join("\n", lines));
        }
    }

    @Test
    void fourNodesAt80x24() {
        List<String> lines = frame(TestNodes.four(), 80, 24, Mode.ALL, 0);

        assertFits(lines, 80, 24);
        assertThat(lines).hasSize(24);
        assertThat(lines.get(0)).startsWith("herd · lab · 4 nodes: 3 alive, 1 dead").endsWith("all · 10:15:30Z");
        assertThat(lines.get(23)).startsWith("q quit").endsWith("* this node");
        assertThat(lines.subList(1, 11)).extracting(l -> l.substring(0, 14)).containsExactly(
                "alpha*   load ", "         mem  ", "         speed",
                "bravo    load ", "         mem  ", "         speed",
                "charlie  dead,",
                "delta    load ", "         mem  ", "         speed");
        assertThat(lines.subList(11, 23)).allMatch(String::isEmpty);
        assertThat(String.join("\n", lines)).doesNotContain("more", "above");
    }

    @Test
    void loadBarIsFullWhenLoadEqualsCoresAndProportionalBelow() {
        List<NodeView> nodes = List.of(
                node("full").cores(4).load(4).build(),
                node("half").cores(4).load(2).build(),
                node("idle").cores(4).load(0).build(),
                node("over").cores(4).load(9).build());
        List<String> lines = frame(nodes, 80, 24, Mode.LOAD, 0);

        String full = bar(row(lines, "full"));
        assertThat(full).matches("#+");
        assertThat(bar(row(lines, "over"))).isEqualTo(full);
        assertThat(bar(row(lines, "idle"))).matches("\\.+").hasSameSizeAs(full);
        long half = bar(row(lines, "half")).chars().filter(c -> c == '#').count();
        assertThat(half).isBetween((long) full.length() / 2 - 1, (long) full.length() / 2 + 1);
        assertThat(row(lines, "full")).endsWith("4.00/4");
        assertThat(row(lines, "over")).endsWith("9.00/4");
    }

    @Test
    void memoryBarIsUsedOfTotalAndSpeedBarIsRelativeToTheFastest() {
        List<NodeView> nodes = List.of(
                node("fast").speed(4).mem(2 * G, 8 * G).build(),
                node("slow").speed(1).mem(8 * G, 8 * G).build());
        List<String> mem = frame(nodes, 80, 24, Mode.MEMORY, 0);
        String used = bar(row(mem, "fast"));
        assertThat(used.chars().filter(c -> c == '#').count()).isEqualTo(Math.round(used.length() * 0.75));
        assertThat(bar(row(mem, "slow"))).matches("\\.+");
        assertThat(row(mem, "fast")).endsWith("6.0G/8.0G");

        List<String> speed = frame(nodes, 80, 24, Mode.SPEED, 0);
        String fastest = bar(row(speed, "fast"));
        assertThat(fastest).matches("#+");
        assertThat(bar(row(speed, "slow")).chars().filter(c -> c == '#').count())
                .isEqualTo(Math.round(fastest.length() * 0.25));
    }

    @Test
    void barsKeepTheirLengthWhenLoadsChange() {
        List<String> calm = frame(List.of(node("a").cores(16).load(1).build()), 80, 24, Mode.ALL, 0);
        List<String> busy = frame(List.of(node("a").cores(16).load(15.25).build()), 80, 24, Mode.ALL, 0);
        assertThat(bar(busy.get(1))).hasSameSizeAs(bar(calm.get(1)));
    }

    @Test
    void nodesThatAreNotAliveShowTheirStateInsteadOfBars() {
        List<NodeView> nodes = List.of(
                node("a-dead").state("dead").lastHeard(185).build(),
                node("b-suspect").state("suspect").lastHeard(12.5).build(),
                node("c-leaving").state("leaving").lastHeard(1).build(),
                node("d-lost").state("dead").lastHeard(-1).build());
        List<String> lines = frame(nodes, 80, 24, Mode.ALL, 0);

        assertThat(row(lines, "a-dead")).isEqualTo("a-dead     dead, last heard 3m ago");
        assertThat(row(lines, "b-suspect")).isEqualTo("b-suspect  suspect, last heard 12s ago");
        assertThat(row(lines, "c-leaving")).contains("leaving");
        assertThat(row(lines, "d-lost")).contains("dead, never heard from");
        assertThat(lines).noneMatch(l -> l.contains("["));
        assertThat(lines.get(0)).contains("4 nodes: 0 alive, 1 suspect, 1 leaving, 2 dead");
    }

    @Test
    void thirtyNodesScrollWithAnIndicator() {
        List<NodeView> nodes = TestNodes.many(30);
        List<String> top = frame(nodes, 80, 24, Mode.ALL, 0);

        assertFits(top, 80, 24);
        assertThat(top.get(1)).startsWith("node-01");
        // 24 rows = title + 21 rows of nodes (7 nodes x 3 metrics) + indicator + keys
        assertThat(top.get(22)).isEqualTo("↓ 23 more");
        assertThat(top.get(23)).startsWith("q quit");

        List<String> middle = frame(nodes, 80, 24, Mode.ALL, 5);
        assertFits(middle, 80, 24);
        assertThat(middle.get(1)).startsWith("node-06");
        assertThat(middle.get(22)).isEqualTo("↑ 5 above   ↓ 18 more");

        List<String> bottom = frame(nodes, 80, 24, Mode.ALL, 1000);
        assertFits(bottom, 80, 24);
        assertThat(bottom.get(1)).startsWith("node-24");
        assertThat(bottom.get(21)).startsWith("         speed");
        assertThat(bottom.get(20)).doesNotStartWith("node-30");
        assertThat(bottom.get(22)).isEqualTo("↑ 23 above");
    }

    @Test
    void oneRowPerNodeWhenShowingOneMetric() {
        List<String> lines = frame(TestNodes.many(30), 80, 24, Mode.LOAD, 0);
        assertFits(lines, 80, 24);
        assertThat(lines.subList(1, 22)).allMatch(l -> l.startsWith("node-") && l.contains(" load "));
        assertThat(lines.get(22)).isEqualTo("↓ 9 more");
    }

    @Test
    void everySizeFits() {
        List<NodeView> nodes = TestNodes.four();
        List<NodeView> lots = TestNodes.many(30);
        for (int width : new int[]{1, 2, 5, 9, 17, 25, 33, 40, 52, 64, 79, 80, 81, 100, 132, 200}) {
            for (int height = 1; height <= 40; height++) {
                for (Mode mode : Mode.values()) {
                    assertFits(frame(nodes, width, height, mode, 0), width, height);
                    assertFits(frame(lots, width, height, mode, 3), width, height);
                }
            }
        }
    }

    @Test
    void noNodesSaysSo() {
        List<String> lines = frame(List.of(), 80, 24, Mode.ALL, 0);
        assertThat(lines.get(0)).contains("0 nodes");
        assertThat(lines.get(1)).isEqualTo("no nodes known yet");
    }

    @Test
    void frameWithoutClusterNameIsTitledHerd() {
        String frame = MonView.frame(TestNodes.four(), 80, 24, Mode.ALL, 0, NOW);
        assertThat(frame).startsWith("herd · 4 nodes");
    }

    @Test
    void printOnceShowsEveryNodeWithoutEscapesOrKeyHelp() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        int code = MonView.printOnce(TestNodes.many(30), out, 80);

        String text = bytes.toString(StandardCharsets.UTF_8);
        assertThat(code).isZero();
        assertThat(text).doesNotContain("\u001B").doesNotContain("q quit").doesNotContain("more");
        assertThat(text).contains("node-01", "node-30");
        assertThat(text.split("\n")).hasSize(1 + 30 * 3)
                .allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(80));
    }
}
