package io.herd.cli.view;

import io.herd.membership.NodeView;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static io.herd.cli.view.TestNodes.G;
import static io.herd.cli.view.TestNodes.node;
import static org.assertj.core.api.Assertions.assertThat;

class NodesTableTest {

    private static List<String> lines(String table) {
        return Arrays.asList(table.split("\n", -1)).subList(0, table.split("\n", -1).length - 1);
    }

    private static String row(String table, String name) {
        return lines(table).stream().filter(l -> l.startsWith(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no row for " + name + " in\n" + table));
    }

    @Test
    void wideTableHasEveryColumnOnOneLinePerNode() {
        String table = NodesTable.render(TestNodes.four(), 160);

        assertThat(lines(table)).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(160));
        assertThat(lines(table).get(0).split(" {2,}")).containsExactly(
                "NAME", "ADDRESS", "STATE", "CORES", "SPEED", "LOAD", "CPU%", "MEM FREE", "OWNER IDLE", "GUESTS",
                "SANDBOX", "VERSION");
        assertThat(row(table, "bravo").trim().split(" {2,}")).containsExactly(
                "bravo", "192.168.100.102:7946", "alive", "2", "3.9", "0.50", "25%", "3.0G/8.0G", "3h12m", "1/2",
                "bwrap+cgroup2", "0.1.0-SNAPSHOT");
    }

    @Test
    void guestCpuCapAndLabelsGetColumnsWhenSomeNodeHasThem() {
        List<NodeView> nodes = List.of(node("alpha").labels("fast", "gpu").guestCpus(0.5).build(), node("bravo").build());
        String table = NodesTable.render(nodes, 0);
        assertThat(lines(table).get(0).split(" {2,}")).containsExactly(
                "NAME", "ADDRESS", "STATE", "CORES", "SPEED", "LOAD", "CPU%", "MEM FREE", "OWNER IDLE", "GUESTS",
                "GUEST CPU", "LABELS", "SANDBOX", "VERSION");
        assertThat(row(table, "alpha").trim().split(" {2,}")).contains("0.5", "fast,gpu");
        assertThat(row(table, "bravo").trim().split(" {2,}")).contains("all", "-");
        // At 80 columns labels give way with the address; the cap stays.
        String narrow = NodesTable.render(nodes, 80);
        assertThat(lines(narrow).get(0)).contains("GCPU").doesNotContain("LABELS");
        assertThat(lines(narrow)).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(80));
    }

    @Test
    void acceptColumnAppearsWhenSomeNodeTakesNoGuests() {
        assertThat(lines(NodesTable.render(TestNodes.four(), 0)).get(0)).doesNotContain("ACCEPT");
        List<NodeView> nodes = List.of(node("alpha").accept("locked", "backup").build(),
                node("bravo").accept("window", "next opens Mon 19:00").build(), node("charlie").build(),
                node("delta").state("dead").accept("never", "").build());
        String table = NodesTable.render(nodes, 0);
        assertThat(lines(table).get(0).split(" {2,}")).containsExactly(
                "NAME", "ADDRESS", "STATE", "CORES", "SPEED", "LOAD", "CPU%", "MEM FREE", "OWNER IDLE", "GUESTS",
                "ACCEPT", "SANDBOX", "VERSION");
        assertThat(row(table, "alpha").trim().split(" {2,}")).contains("locked");
        assertThat(row(table, "bravo").trim().split(" {2,}")).contains("window");
        assertThat(row(table, "charlie").trim().split(" {2,}")).contains("yes");
        assertThat(row(table, "delta").trim().split(" {2,}")).doesNotContain("never");
        // A dead node that took no guests does not bring the column back.
        assertThat(lines(NodesTable.render(List.of(node("a").build(), node("d").state("dead").accept("locked", "").build()), 0))
                .get(0)).doesNotContain("ACCEPT");
        // At 80 columns it stays, as the figures do, under its short header.
        assertThat(lines(NodesTable.render(nodes, 80)).get(0)).endsWith("GUESTS  ACC");
        assertThat(row(NodesTable.render(nodes, 80), "alpha")).endsWith("locked");
    }

    @Test
    void at80ColumnsVersionSandboxAndAddressGiveWayBeforeTheFigures() {
        String table = NodesTable.render(TestNodes.four(), 80);

        assertThat(lines(table)).allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(80));
        String header = lines(table).get(0);
        assertThat(header).doesNotContain("VERSION", "SANDBOX", "ADDRESS");
        assertThat(header.split(" {2,}")).containsExactly(
                "NAME", "STATE", "CORES", "SPEED", "LOAD", "CPU%", "MEM FREE", "IDLE", "GUESTS");
        assertThat(table).doesNotContain("192.168.100.102", "0.1.0-SNAPSHOT", "bwrap");
        assertThat(row(table, "delta")).contains("1.53", "42s");
    }

    @Test
    void linesNeverPassTheWidthWhateverItIs() {
        List<NodeView> nodes = List.of(
                node("a-workstation-with-a-really-long-hostname").self().build(),
                node("b").mem(900 * G, 1000 * G).build());
        for (int width = 20; width <= 200; width++) {
            String table = NodesTable.render(nodes, width);
            int w = width;
            assertThat(lines(table)).as("width %d:%n%s", width, table)
                    .allSatisfy(l -> assertThat(l.length()).isLessThanOrEqualTo(w));
        }
    }

    @Test
    void columnsAreDroppedOneAtATimeAsTheTableNarrows() {
        List<NodeView> nodes = TestNodes.four();
        String full = NodesTable.render(nodes, 0);
        int fullWidth = lines(full).stream().mapToInt(String::length).max().orElseThrow();

        String oneLess = lines(NodesTable.render(nodes, fullWidth - 1)).get(0);
        assertThat(oneLess).contains("SANDBOX", "ADDRESS").doesNotContain("VERSION");
    }

    @Test
    void guestIoColumnShowsHowEachNodeCapsGuestDiskIo() {
        List<NodeView> nodes = List.of(TestNodes.node("alpha").sandbox("bwrap+cgroup1 io:blkio.throttle+psi").build(),
                TestNodes.node("bravo").sandbox("bwrap+cgroup2 io:io.max").build(),
                TestNodes.node("charlie").sandbox("nice io:none").build(),
                TestNodes.node("delta").sandbox("bwrap+cgroup2").build());   // an older daemon: says nothing
        String table = NodesTable.render(nodes, 0);
        assertThat(lines(table).get(0)).contains("SANDBOX", "GUEST IO");
        assertThat(row(table, "alpha")).contains("bwrap+cgroup1 ").contains("blkio.throttle+psi");
        assertThat(row(table, "bravo")).contains(" io.max");
        assertThat(row(table, "charlie")).contains("nice ").contains(" none");
        assertThat(row(table, "delta").trim().split(" +")).contains("bwrap+cgroup2", "-");
        assertThat(lines(NodesTable.render(TestNodes.four(), 0)).get(0)).as("no node says: no column").doesNotContain("GUEST IO");
        assertThat(lines(NodesTable.render(nodes, 80)).get(0)).doesNotContain("GUEST IO");
    }

    @Test
    void zeroWidthMeansNoLimit() {
        assertThat(lines(NodesTable.render(TestNodes.four(), 0)).get(0)).contains("VERSION", "SANDBOX", "ADDRESS");
    }

    @Test
    void rowsAreSortedByName() {
        String table = NodesTable.render(TestNodes.four(), 80);
        List<String> rows = lines(table).subList(1, 5);
        assertThat(rows).extracting(l -> l.split(" ")[0]).containsExactly("alpha*", "bravo", "charlie", "delta");
    }

    @Test
    void deadNodeSaysSoAndHidesItsStaleFigures() {
        String table = NodesTable.render(TestNodes.four(), 80);
        String[] cells = row(table, "charlie").trim().split(" +");
        // NAME STATE CORES SPEED LOAD CPU% MEM IDLE GUESTS
        assertThat(cells).containsExactly("charlie", "dead", "2", "3.9", "-", "-", "-", "-", "-");
    }

    @Test
    void localNodeIsMarkedAndExplained() {
        String table = NodesTable.render(TestNodes.four(), 80);
        assertThat(row(table, "alpha")).startsWith("alpha* ");
        assertThat(table).contains("* this node");
        assertThat(row(table, "bravo")).doesNotContain("*");
    }

    @Test
    void ownerPresenceIsMarkedNextToTheIdleTime() {
        String table = NodesTable.render(TestNodes.four(), 80);
        assertThat(row(table, "delta")).contains("42s@");
        assertThat(row(table, "bravo")).doesNotContain("@");
        assertThat(table).contains("@ owner logged in locally");
    }

    @Test
    void longNameIsCutButKeepsTheSelfMarker() {
        List<NodeView> nodes = List.of(node("a-workstation-with-a-really-long-hostname").self().build());
        String table = NodesTable.render(nodes, 70);
        assertThat(lines(table).get(1)).matches("a-worksta\\S*…\\* .*");
    }

    @Test
    void summaryAddsUpTheAliveNodes() {
        List<NodeView> nodes = List.of(
                node("a").cores(2).speed(3.9).mem(3 * G, 8 * G).build(),
                node("b").cores(2).speed(3.9).mem(3 * G, 8 * G).build(),
                node("c").cores(2).speed(3.9).mem(3 * G, 8 * G).build(),
                node("d").cores(2).speed(3.9).mem(3 * G, 8 * G).build());

        assertThat(NodesTable.summary(nodes)).isEqualTo("4 nodes: 4 alive · 8 cores · 31.2 speed×cores · 12.0G free");
        assertThat(NodesTable.render(nodes, 80)).contains(
                "\n4 nodes: 4 alive · 8 cores · 31.2 speed×cores · 12.0G free\n");
    }

    @Test
    void summaryCountsStatesButNotTheCapacityOfNodesThatAreNotAlive() {
        List<NodeView> nodes = List.of(
                node("a").cores(4).speed(2).mem(1 * G, 8 * G).build(),
                node("b").cores(8).speed(2).state("dead").build(),
                node("c").cores(8).speed(2).state("suspect").build());

        assertThat(NodesTable.summary(nodes))
                .isEqualTo("3 nodes: 1 alive, 1 suspect, 1 dead · 4 cores · 8.0 speed×cores · 1.0G free");
    }

    @Test
    void emptyPoolStillHasAHeaderAndASummary() {
        String table = NodesTable.render(List.of(), 80);
        assertThat(lines(table).get(0)).startsWith("NAME");
        assertThat(table).contains("0 nodes: 0 alive · 0 cores");
    }

    @Test
    void colourOnlyWhenAskedAndNeverWidensTheLine() {
        List<NodeView> nodes = TestNodes.four();
        assertThat(NodesTable.render(nodes, 80)).doesNotContain("\u001B");

        String coloured = NodesTable.render(nodes, 80, true);
        assertThat(row(coloured.replaceAll("\u001B\\[[0-9;]*m", ""), "charlie")).contains("dead");
        assertThat(coloured).contains("\u001B[31mdead");
        assertThat(lines(coloured)).allSatisfy(l ->
                assertThat(l.replaceAll("\u001B\\[[0-9;]*m", "").length()).isLessThanOrEqualTo(80));
    }
}
