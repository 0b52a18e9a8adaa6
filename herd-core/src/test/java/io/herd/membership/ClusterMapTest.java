package io.herd.membership;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.gossip.LoadVector;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ClusterMapTest {

    private static LoadVector vec(String node, long incarnation, long seq, boolean leaving) {
        return new LoadVector(node, "10.0.0.1:7700", incarnation, seq, 4, 2.5, 0.5, 10, 8L << 30, 4L << 30, 0, 0, 60,
                false, 4, 0, "nice", "1.0", leaving);
    }

    private static Map<String, String> states(ClusterMap m, long now) {
        return m.snapshot(now).stream().collect(Collectors.toMap(NodeView::name, NodeView::state));
    }

    @Test
    void aliveThenSuspectWhenSilentThenDeadWhenDroppedFromTheView() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a", "b"));
        m.learned(vec("a", 1, 1, false), 0);
        m.learned(vec("b", 1, 1, false), 0);
        assertThat(states(m, 1000)).containsEntry("a", "alive").containsEntry("b", "alive");
        assertThat(states(m, 3001)).containsEntry("a", "alive").containsEntry("b", "suspect");
        m.learned(vec("b", 1, 2, false), 3500);
        assertThat(states(m, 4000)).containsEntry("b", "alive");
        m.viewChanged(List.of("a"));
        assertThat(states(m, 4000)).containsEntry("b", "dead");
    }

    @Test
    void gracefulLeaveIsLeavingWhileInTheViewAndLeftAfter() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a", "b"));
        m.learned(vec("b", 1, 1, false), 0);
        m.leaving("b");
        assertThat(states(m, 100)).containsEntry("b", "leaving");
        m.viewChanged(List.of("a"));
        assertThat(states(m, 100)).containsEntry("b", "left");
        // Coming back clears the leave.
        m.viewChanged(List.of("a", "b"));
        m.learned(vec("b", 2, 1, false), 200);
        assertThat(states(m, 300)).containsEntry("b", "alive");
    }

    @Test
    void olderVectorsNeverReplaceNewerOnesAndARestartWins() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a", "b"));
        m.learned(vec("b", 5, 10, false), 0);
        m.learned(vec("b", 5, 9, false), 50);
        assertThat(m.snapshot(60).stream().filter(v -> v.name().equals("b")).findFirst().orElseThrow().lastHeardSeconds())
                .isEqualTo(0.06);
        m.learned(vec("b", 6, 1, false), 100);
        assertThat(m.snapshot(100).stream().filter(v -> v.name().equals("b")).findFirst().orElseThrow().lastHeardSeconds())
                .isZero();
    }

    @Test
    void removedNodesDisappearAndStayGoneUntilTheyRejoinTheView() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a", "b"));
        m.learned(vec("b", 1, 1, false), 0);
        m.removed("b");
        m.learned(vec("b", 1, 2, false), 10);
        m.viewChanged(List.of("a"));
        assertThat(states(m, 20)).doesNotContainKey("b");
    }

    @Test
    void aRemovedNodeLingeringInTheViewStaysRemovedUntilItRejoins() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a", "b", "c"));
        m.learned(vec("b", 1, 1, false), 0);
        m.removed("b");
        m.viewChanged(List.of("a", "b"));          // c leaves; b still connected for a moment
        assertThat(states(m, 10)).doesNotContainKey("b");
        m.viewChanged(List.of("a"));               // b's connections cut
        assertThat(states(m, 20)).doesNotContainKey("b");
        m.viewChanged(List.of("a", "b"));          // b joins again with a new certificate
        m.learned(vec("b", 2, 1, false), 30);
        assertThat(states(m, 40)).containsEntry("b", "alive");
    }

    @Test
    void theSuspicionThresholdGrowsWithTheCluster() {
        ClusterMap m = new ClusterMap("n0", 3000, 30);
        List<String> members = java.util.stream.IntStream.range(0, 200).mapToObj(i -> "n" + i).toList();
        m.viewChanged(members);
        m.learned(vec("n7", 1, 1, false), 0);
        assertThat(m.suspectThresholdMillis()).isEqualTo(6000);
        assertThat(m.stateOf("n7", 5000)).isEqualTo("alive");
        assertThat(m.stateOf("n7", 6001)).isEqualTo("suspect");
        m.viewChanged(List.of("n0", "n7"));
        assertThat(m.suspectThresholdMillis()).isEqualTo(3000);
    }

    @Test
    void selfIsMarkedAndNeverSuspect() {
        ClusterMap m = new ClusterMap("a", 3000);
        m.viewChanged(List.of("a"));
        m.learned(vec("a", 1, 1, false), 0);
        NodeView self = m.snapshot(100_000).get(0);
        assertThat(self.self()).isTrue();
        assertThat(self.state()).isEqualTo("alive");
        assertThat(m.knownAddresses()).containsExactly("10.0.0.1:7700");
    }
}
