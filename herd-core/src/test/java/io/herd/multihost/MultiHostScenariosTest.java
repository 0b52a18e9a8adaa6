package io.herd.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.ExactlyOnce;
import io.herd.testing.NetnsCluster;
import io.herd.testing.NetnsCluster.Host;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Nothing lost, nothing twice, on separate hosts: four daemons in four network namespaces
 * (n1 the home of every array, n4 with a 96 MB data disk of its own; joined by veths on a bridge,
 * or by the user-space wire where the kernel has no tc netem) run arrays through crashes,
 * a home restart, a partition, latency and loss, a graceful leave and a full disk. Each scenario
 * checks every job done exactly once with its whole output, no partial or duplicate file, and the
 * home journal consistent; after each, the cluster is whole again for the next.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MultiHostScenariosTest {

    private static final int HOSTS = 4;
    private NetnsCluster net;
    private Host home;

    @BeforeAll
    void form() {
        NetnsCluster.assumeAvailable();
        // Where the kernel has no tc netem, the hosts are joined by the user-space wire, which can add latency and loss.
        net = NetnsCluster.formed(HOSTS, 0, "", Map.of(4, 96), !NetnsCluster.hasNetem() && NetnsCluster.canWire());
        home = net.host(1);
    }

    @AfterAll
    void stop() {
        if (net != null) net.close();
    }

    /** Every host running and alive in the home's view again (a scenario that failed half-way leaves faults behind). */
    @AfterEach
    void whole() {
        if (net == null) return;
        net.unsplit();
        for (Host h : net.hosts()) {
            net.clearImpairment(h);
            net.heal(h);
            if (h.index() == 4) net.freeDisk(h);
            if (!net.running(h)) net.restart(h);
        }
        Map<String, String> alive = new LinkedHashMap<>();
        for (Host h : net.hosts()) alive.put(h.name(), "alive");
        net.awaitStates(home, alive, Duration.ofSeconds(60));
    }

    private ExactlyOnce submit(String name, int jobs, String sleep) throws Exception {
        return ExactlyOnce.submit(net.root().resolve(name), jobs, sleep, ExactlyOnce.at(home.data()));
    }

    @Test
    @Order(1)
    void hostsKilledAtRandomDuringA500JobArray() throws Exception {
        long seed = Long.getLong("herd.seed", System.nanoTime());
        Random random = new Random(seed);
        System.out.println("MultiHostScenariosTest random kills: seed " + seed + " (-Dherd.seed=" + seed + " repeats it)");
        ExactlyOnce a = submit("kills", 500, "0.05");
        List<CompletableFuture<Void>> restarts = new ArrayList<>();
        for (long at : List.of(60L, 180L, 300L)) {
            a.awaitFinishedAtLeast(at, Duration.ofSeconds(120));
            Host victim = net.host(2 + random.nextInt(HOSTS - 1));
            if (!net.running(victim)) continue;   // still coming back from the last kill
            net.kill9(victim);
            // It comes back while the array goes on (a daemon takes seconds to start).
            restarts.add(CompletableFuture.runAsync(() -> net.restart(victim)));
        }
        a.awaitFinished(Duration.ofSeconds(240));
        CompletableFuture.allOf(restarts.toArray(CompletableFuture[]::new)).join();
        a.assertExactlyOnce(home.journal());
    }

    @Test
    @Order(2)
    void theHomeKilledAndRestartedMidArray() throws Exception {
        // Jobs of 1 s: the array lasts 10 s or more on 8 slots, so the kill comes in its middle.
        ExactlyOnce a = submit("home", 80, "1");
        a.awaitFinishedAtLeast(8, Duration.ofSeconds(60));
        long killedAt = System.currentTimeMillis();
        net.kill9(home);
        // Mid-array: the journal says what was left (the history comes from the journal once the home is back).
        net.restart(home);
        a.awaitFinished(Duration.ofSeconds(180));
        a.assertExactlyOnce(home.journal());
        // Jobs on other hosts when the home died may have run on (guests outlive their home) or run again:
        // either way once. What must hold is that the kill came before the end.
        assertThat(a.history().stream().filter(j -> j.get("finishedMs").asLong() > killedAt).count())
                .as("jobs finished after the home was killed").isPositive();
    }

    @Test
    @Order(3)
    void aTenSecondPartitionInHalvesThenHealed() throws Exception {
        ExactlyOnce a = submit("partition", 100, "0.3");
        a.awaitFinishedAtLeast(20, Duration.ofSeconds(60));
        net.split(net.host(3), net.host(4));
        // The fault's length, not a wait for something: the halves stay apart for 10 s.
        Thread.sleep(10_000);
        net.unsplit();
        a.awaitFinished(Duration.ofSeconds(180));
        a.assertExactlyOnce(home.journal());
    }

    @Test
    @Order(4)
    void latencyAndLossOnEveryLinkForAWholeArray() throws Exception {
        net.assumeImpairable();
        for (Host h : net.hosts()) net.impair(h, 100, 10, 2);
        ExactlyOnce a = submit("netem", 80, "0");
        a.awaitFinished(Duration.ofSeconds(180));
        a.assertExactlyOnce(home.journal());
    }

    @Test
    @Order(5)
    void aHostLeavingGracefullyMidArray() throws Exception {
        ExactlyOnce a = submit("leave", 80, "0.1");
        a.awaitFinishedAtLeast(20, Duration.ofSeconds(60));
        Cli.Result r = net.herd(net.host(2), "leave");
        assertThat(r.exit()).as(r.all()).isZero();
        a.awaitFinished(Duration.ofSeconds(180));
        a.assertExactlyOnce(home.journal());
    }

    @Test
    @Order(6)
    void aHostWhoseDiskFillsDuringTheArray() throws Exception {
        ExactlyOnce a = submit("disk", 80, "0.1");
        a.awaitFinishedAtLeast(20, Duration.ofSeconds(60));
        net.fillDisk(net.host(4));
        a.awaitFinished(Duration.ofSeconds(180));
        a.assertExactlyOnce(home.journal());
    }

}
