package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.herd.membership.NodeView;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A real 4-node cluster on loopback: separate daemon processes formed with
 * {@code herd init}, {@code herd token} and {@code herd join}, then taken
 * through crash, restart, graceful leave and removal. The steps share one
 * cluster (starting daemons is the expensive part) and run in order.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterLifecycleTest {

    private static final List<String> REQUIRED_KEYS = List.of("name", "address", "state", "cores", "speed", "load",
            "cpuPercent", "memFreeBytes", "ownerIdleSeconds", "guestJobs", "version");

    private TestCluster cluster;
    private TestNode n1, n2, n3, n4;

    @BeforeAll
    void form() {
        cluster = new TestCluster();
        n1 = cluster.init("node1", "lab");
        String token = cluster.token(n1, 3);
        n2 = cluster.join("node2", n1, token);
        n3 = cluster.join("node3", n1, token);
        n4 = cluster.join("node4", n1, token);
    }

    @AfterAll
    void tearDown() {
        cluster.close();
        assertThat(cluster.root()).doesNotExist();
    }

    @Test
    @Order(1)
    void everyNodeSeesEveryNodeAliveWithItsLoadVector() {
        Map<String, String> allAlive = Map.of("node1", "alive", "node2", "alive", "node3", "alive", "node4", "alive");
        for (TestNode n : cluster.nodes()) cluster.awaitStates(n, allAlive, Duration.ofSeconds(30));

        for (TestNode observer : cluster.nodes()) {
            List<JsonNode> rows = cluster.nodesJson(observer);
            assertThat(rows).hasSize(4);
            for (JsonNode row : rows) {
                for (String k : REQUIRED_KEYS) assertThat(row.has(k)).as("key %s in %s", k, row).isTrue();
                assertThat(row.get("state").asText()).isEqualTo("alive");
                assertThat(row.get("cores").asInt()).isPositive();
                assertThat(row.get("speed").asDouble()).isPositive();
                assertThat(row.get("memFreeBytes").asLong()).isPositive();
                assertThat(row.get("version").asText()).isNotBlank();
                TestNode subject = cluster.node(row.get("name").asText());
                assertThat(row.get("address").asText()).isEqualTo(subject.grpc());
            }
        }
    }

    @Test
    @Order(1)
    void everyDaemonUnpacksSqliteIntoItsOwnDataDirectory() throws Exception {
        for (TestNode n : cluster.nodes()) {
            try (var files = java.nio.file.Files.list(n.data().resolve("native"))) {
                assertThat(files.map(p -> p.getFileName().toString()).toList()).as(n.name() + "'s native/")
                        .anyMatch(f -> f.startsWith("sqlite-") && f.endsWith(".so"));
            }
        }
    }

    @Test
    @Order(2)
    void loadGossipStaysFreshOnEveryNode() {
        // Each node republishes twice a second; every other node must have news of it younger than 2 s.
        for (TestNode observer : cluster.nodes()) {
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                for (NodeView v : cluster.views(observer)) {
                    assertThat(v.lastHeardSeconds()).as("%s as seen by %s", v.name(), observer.name()).isBetween(0.0, 2.0);
                }
            });
        }
    }

    @Test
    @Order(3)
    void humanTableListsTheNodes() {
        Cli.Result r = Cli.run("nodes", "--data", n2.data().toString());
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("node1", "node2", "node3", "node4", "alive");
        Cli.Result mon = Cli.run("mon", "--data", n2.data().toString());
        assertThat(mon.exit()).as(mon.all()).isZero();
        assertThat(mon.out()).contains("node1", "node4").doesNotContain("\u001b[");
    }

    @Test
    @Order(4)
    void aKilledNodeIsShownDeadEverywhereWithinTenSeconds() {
        long t0 = System.nanoTime();
        cluster.kill9(n4);
        for (TestNode n : List.of(n1, n2, n3)) cluster.awaitStates(n, Map.of("node4", "dead"), Duration.ofSeconds(10));
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));

        cluster.restart(n4);
        for (TestNode n : List.of(n1, n2, n3, n4)) {
            cluster.awaitStates(n, Map.of("node1", "alive", "node2", "alive", "node3", "alive", "node4", "alive"),
                    Duration.ofSeconds(30));
        }
    }

    @Test
    @Order(5)
    void aPartitionedNodeIsDroppedThenMergedBackWhenItHeals() throws Exception {
        // SIGSTOP cuts node2 off from everyone (it neither sends nor answers) without killing it;
        // both sides go on with their own view, and MERGE3 must join them again after SIGCONT.
        long pid = n2.pid().orElseThrow();
        new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
        try {
            for (TestNode n : List.of(n1, n3, n4)) cluster.awaitStates(n, Map.of("node2", "dead"), Duration.ofSeconds(15));
        } finally {
            new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor();
        }
        Map<String, String> allAlive = Map.of("node1", "alive", "node2", "alive", "node3", "alive", "node4", "alive");
        for (TestNode n : List.of(n1, n2, n3, n4)) cluster.awaitStates(n, allAlive, Duration.ofSeconds(40));
    }

    @Test
    @Order(6)
    void gracefulLeaveLeavesEveryViewAtOnceAndStopsTheDaemon() {
        long pid = n3.pid().orElseThrow();
        Cli.Result r = Cli.run("leave", "--data", n3.data().toString());
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(ProcessHandle.of(pid)).isEmpty();
        // "left", not "dead": the others heard the leave (a crash would be detected, after 5 s, as dead).
        // The bound allows for a loaded 2-core machine installing the new view.
        for (TestNode n : List.of(n1, n2, n4)) cluster.awaitStates(n, Map.of("node3", "left"), Duration.ofSeconds(8));
        Cli.Result after = Cli.run("nodes", "--data", n3.data().toString());
        assertThat(after.exit()).isNotZero();
        assertThat(after.err().trim()).startsWith("herd: no herd daemon is running for").contains("herd init");
    }

    @Test
    @Order(7)
    void removedNodeIsRevokedAndCanNeverRejoinWithItsCertificate() throws Exception {
        // Removal requested on node2, which does not hold the CA: it is forwarded to node1.
        long pid4 = n4.pid().orElseThrow();
        Cli.Result r = Cli.run("node", "remove", "node4", "--data", n2.data().toString());
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains("removed node node4");
        Awaitility.await().atMost(Duration.ofSeconds(10))
                .until(() -> !cluster.states(n1).containsKey("node4") && !cluster.states(n2).containsKey("node4"));
        // A well-behaved daemon stops itself when it learns it was removed.
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(pid4).isEmpty());

        // A stolen copy of the certificate, used by a daemon that ignores the CRL, gets nowhere.
        Files.deleteIfExists(n4.data().resolve("tls/crl.der"));
        cluster.restart(n4);
        Awaitility.await().during(Duration.ofSeconds(8)).atMost(Duration.ofSeconds(12))
                .until(() -> !cluster.states(n1).containsKey("node4") && !cluster.states(n2).containsKey("node4"));
        assertThat(cluster.states(n4).keySet()).containsExactly("node4");
        assertThat(Files.readString(n1.data().resolve("daemon.log"))).contains("node4");
    }

    @Test
    @Order(8)
    void aNodeOfAnotherClusterNeverAppearsInAnyView() throws Exception {
        TestNode stranger = cluster.init("stranger", "lab");
        // Point its discovery straight at node1's ports.
        cluster.kill9(stranger);
        Files.writeString(stranger.data().resolve("peers.txt"), n1.grpc() + "\n");
        cluster.restart(stranger);
        Awaitility.await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(10))
                .until(() -> !cluster.states(n1).containsKey("stranger") && !cluster.states(stranger).containsKey("node1"));
        assertThat(cluster.states(n1)).containsEntry("node1", "alive").containsEntry("node2", "alive");
    }
}
