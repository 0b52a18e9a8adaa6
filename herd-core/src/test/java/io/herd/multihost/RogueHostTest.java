package io.herd.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.ExactlyOnce;
import io.herd.testing.NetnsCluster;
import io.herd.testing.NetnsCluster.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
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
 * A rogue host on the same network (n4: its own namespace and address, no herd) attacks a
 * three-node cluster while an array runs: a certificate of its own CA, a stolen certificate of a
 * removed (revoked) node, a replayed and an expired join token, garbage, truncated and oversized
 * frames to both ports of the home node, forged job offers and runs. Every attempt is refused, the
 * nodes log it, no forged job runs, and the array finishes exactly once as if nothing happened.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RogueHostTest {

    private NetnsCluster net;
    private Host n1;
    private Host n2;
    private Host n3;
    private Host rogue;
    private ExactlyOnce array;
    private Path marker;

    @BeforeAll
    void form() throws Exception {
        NetnsCluster.assumeAvailable();
        net = NetnsCluster.formed(3, 1, "", Map.of());
        n1 = net.host(1);
        n2 = net.host(2);
        n3 = net.host(3);
        rogue = net.host(4);
        marker = Files.createDirectories(net.root().resolve("forged")).resolve("owned");
        array = ExactlyOnce.submit(net.root().resolve("array"), 150, "0.5", ExactlyOnce.at(n1.data()));
        array.awaitFinishedAtLeast(1, Duration.ofSeconds(60));
    }

    @AfterAll
    void stop() {
        if (net != null) net.close();
    }

    private Cli.Result rogue(String... args) {
        return net.java(rogue, Rogue.class.getName(), args);
    }

    private String log(Host h) throws Exception {
        return Files.readString(h.data().resolve("daemon.log"));
    }

    @Test
    @Order(1)
    void aCertificateOfItsOwnCaGetsNothing() throws Exception {
        for (Host target : new Host[] {n1, n2}) {
            Path scratch = Files.createDirectories(net.root().resolve("rogue-" + target.name()));
            Cli.Result r = rogue("own-ca", target.address(), Integer.toString(NetnsCluster.PORT), scratch.toString(), marker.toString());
            assertThat(r.exit()).as("%s: %s", target.name(), r.all()).isZero();
            assertThat(r.out()).contains("REFUSED ping", "REFUSED forged offer", "REFUSED forged job submission", "REFUSED membership TLS");
            // The membership port knows the client's address; gRPC's TLS stack does not tell it.
            Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(log(target))
                    .contains("refused a TLS client from " + rogue.address())
                    .contains("not signed by this cluster's CA"));
        }
        assertThat(marker).as("a forged job ran").doesNotExist();
    }

    @Test
    @Order(2)
    void aStolenButRevokedCertificateGetsNothing() throws Exception {
        Cli.Result rm = Cli.run("node", "remove", "n3", "--data", n1.data().toString());
        assertThat(rm.exit()).as(rm.all()).isZero();
        // The removed node stops itself; its key and certificate stay on its disk for the thief.
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !net.running(n3));
        Cli.Result r = rogue("stolen", n1.address(), Integer.toString(NetnsCluster.PORT), n3.data().toString(), marker.toString());
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).contains("REFUSED ping", "REFUSED forged offer", "REFUSED forged job submission", "REFUSED membership TLS");
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(log(n1))
                .contains("refused a TLS client from " + rogue.address()).contains("has been revoked"));
        assertThat(marker).as("a forged job ran").doesNotExist();
        net.awaitStates(n1, Map.of("n1", "alive", "n2", "alive"), Duration.ofSeconds(30));
        assertThat(net.states(n1).get("n3")).as("the removed node stays out").isNotEqualTo("alive");
    }

    @Test
    @Order(3)
    void aReplayedOrExpiredJoinTokenIsRefused() throws Exception {
        // The token the cluster was formed with: both its uses spent by n2 and n3. The rogue replays it.
        String once = net.formationToken();
        Path replayData = net.root().resolve("replay-data");
        Cli.Result replay = Cli.run(Map.of(), rogue.enter(), "join", n1.grpc(), "--token", once, "--name", "r2",
                "--listen", rogue.grpc(), "--data", replayData.toString());
        assertThat(replay.exit()).as(replay.all()).isNotZero();
        assertThat(replay.err()).startsWith("herd: ");
        assertThat(replayData).as("a refused join writes nothing").doesNotExist();

        Cli.Result t = net.herd(n1, "token", "--ttl", "1s");
        assertThat(t.exit()).as(t.all()).isZero();
        String expired = t.out().trim().substring(t.out().trim().indexOf("--token ") + 8).trim();
        Instant after = Instant.now().plusSeconds(2);
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(after));
        Path expiredData = net.root().resolve("expired-data");
        Cli.Result late = rogue("join-expired", n1.address(), Integer.toString(NetnsCluster.PORT), expiredData.toString(), expired,
                rogue.address());
        assertThat(late.exit()).as(late.all()).isZero();
        assertThat(late.out()).contains("REFUSED expired token join");
        assertThat(expiredData).doesNotExist();
        assertThat(log(n1)).contains("refused join of 'r2'").contains("refused join of 'r3'");
    }

    @Test
    @Order(4)
    void garbageTruncatedAndOversizedFramesAreDropped() throws Exception {
        // At the home and CA node, the one whose loss would hurt most (CI time: one target is enough).
        for (Host target : new Host[] {n1}) {
            Cli.Result r = rogue("garbage", target.address(), Integer.toString(NetnsCluster.PORT));
            assertThat(r.exit()).as("%s: %s", target.name(), r.all()).isZero();
            assertThat(r.out().lines().filter(l -> l.startsWith("REFUSED")).count()).as(r.out()).isEqualTo(11);
            assertThat(net.running(target)).as("%s survived", target.name()).isTrue();
        }
        net.awaitStates(n1, Map.of("n1", "alive", "n2", "alive"), Duration.ofSeconds(30));
    }

    @Test
    @Order(5)
    void theArrayRunningMeanwhileFinishedExactlyOnce() throws Exception {
        array.awaitFinished(Duration.ofSeconds(180));
        array.assertExactlyOnce(n1.journal());
        assertThat(net.states(n1)).doesNotContainKeys("n2-rogue", "intruder").doesNotContainKey("r2").doesNotContainKey("r3");
        assertThat(marker).doesNotExist();
    }
}
