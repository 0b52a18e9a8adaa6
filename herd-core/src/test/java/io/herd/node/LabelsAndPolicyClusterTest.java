package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.executor.Cgroups;
import io.herd.membership.NodeView;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * herd label and herd policy on a real 2-node cluster, through the real CLI:
 * a label set on one node reaches the other's view and its placement; the
 * guest CPU cap is applied through cgroups (or refused, clearly, where the
 * machine has none), gossiped, and kept across a restart.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LabelsAndPolicyClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Gossip freshness is about 2 s; a little slack for a shared, busy test machine. */
    private static final Duration FRESHNESS = Duration.ofSeconds(3);

    private TestCluster cluster;
    private TestNode a;
    private TestNode b;

    @BeforeAll
    void form() {
        cluster = new TestCluster();
        a = cluster.init("lbl-a", "labels");
        b = cluster.join("lbl-b", a, cluster.token(a, 1));
        cluster.awaitStates(a, Map.of("lbl-a", "alive", "lbl-b", "alive"), Duration.ofSeconds(30));
    }

    @AfterAll
    void stop() {
        try {
            cluster.close();
        } finally {
            // Daemons killed with -9 cannot lift their cap: leave no cgroup behind either way.
            for (TestNode n : cluster.nodes()) {
                Cgroups cg = Cgroups.detect(n.cgroupName());
                try {
                    cg.clearGuestCpuShare();
                    cg.removeParent();
                } catch (RuntimeException ignored) {
                    // nothing there, or not ours to remove
                }
            }
        }
    }

    /** Runs {@code herd ARGS} against node {@code n}: its --data goes before any {@code --}. */
    private static Cli.Result herd(TestNode n, String... args) {
        List<String> all = new java.util.ArrayList<>(List.of(args));
        int dashes = all.indexOf("--");
        all.add(dashes < 0 ? all.size() : dashes, "--data=" + n.data());
        return Cli.run(all.toArray(String[]::new));
    }

    private NodeView viewOf(TestNode observer, String name) {
        return cluster.views(observer).stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow();
    }

    private JsonNode jsonOf(TestNode observer, String name) {
        return cluster.nodesJson(observer).stream().filter(o -> o.get("name").asText().equals(name)).findFirst()
                .orElseThrow();
    }

    /** Submits a job at A, waits for it and returns the node it ran on, from {@code herd ps --all --json}. */
    private String ranOn(String constraint) throws Exception {
        Cli.Result s = herd(a, "submit", "--on", constraint, "--", "sh", "-c", "echo placed");
        assertThat(s.exit()).as(s.all()).isZero();
        String id = s.out().trim();
        Cli.Result w = herd(a, "wait", id);
        assertThat(w.exit()).as(w.all()).isZero();
        Cli.Result ps = herd(a, "ps", "--all", "--json");
        for (JsonNode j : JSON.readTree(ps.out())) {
            if (j.get("id").asText().equals(id)) return j.get("node").asText();
        }
        throw new AssertionError("job " + id + " not in herd ps --all --json: " + ps.out());
    }

    @Test
    @Order(1)
    void aLabelOnBReachesAsViewWithinTheGossipFreshness() {
        Cli.Result add = herd(b, "label", "add", "fast", "gpu.a100");
        assertThat(add.exit()).as(add.all()).isZero();
        assertThat(add.out()).isEqualTo("labels of lbl-b: fast,gpu.a100\n");
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> viewOf(a, "lbl-b").labels().equals(List.of("fast", "gpu.a100")));
        JsonNode json = jsonOf(a, "lbl-b");
        assertThat(json.get("labels").isArray()).isTrue();
        assertThat(json.get("labels")).extracting(JsonNode::asText).containsExactly("fast", "gpu.a100");
        assertThat(jsonOf(a, "lbl-a").get("labels")).isEmpty();

        Cli.Result rm = herd(b, "label", "rm", "gpu.a100");
        assertThat(rm.exit()).as(rm.all()).isZero();
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> viewOf(a, "lbl-b").labels().equals(List.of("fast")));
        assertThat(herd(b, "label", "ls").out()).isEqualTo("fast\n");
        assertThat(herd(b, "nodes").out()).contains("LABELS").contains("fast");
    }

    @Test
    @Order(2)
    void anInvalidLabelIsAOneLineErrorAndChangesNothing() throws Exception {
        Path file = b.data().resolve("labels.txt");
        String before = Files.readString(file);
        Cli.Result bad = herd(b, "label", "add", "big-box", "Big Box");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err()).startsWith("herd: invalid label 'Big Box': a label is 1 to 32 of a-z 0-9 _ . - starting "
                + "with a letter or digit").endsWith("nothing was changed\n");
        assertThat(bad.err().lines()).hasSize(1);
        assertThat(Files.readString(file)).isEqualTo(before);
        assertThat(herd(b, "label", "ls").out()).isEqualTo("fast\n");
    }

    @Test
    @Order(3)
    void labelConstraintsPlaceJobs() throws Exception {
        assertThat(ranOn("label==fast")).isEqualTo("lbl-b");
        assertThat(ranOn("label!=fast")).isEqualTo("lbl-a");
        assertThat(ranOn("label==fast")).isEqualTo("lbl-b");
    }

    @Test
    @Order(4)
    void guestCpusIsAppliedGossipedAndKeptAcrossARestart() {
        assertThat(herd(b, "policy", "show").out()).isEqualTo(defaultPolicy());
        Cli.Result set = herd(b, "policy", "set", "guest-cpus", "0.5");
        Cgroups cg = Cgroups.detect(b.cgroupName());
        if (set.exit() != 0) {
            // No usable cpu controller here: a clear error, and nothing stored or gossiped.
            assertThat(set.err()).startsWith("herd: cannot cap the guests' CPU on lbl-b: ")
                    .contains("cgroup").endsWith("nothing was changed\n");
            assertThat(herd(b, "policy", "show").out()).isEqualTo(defaultPolicy());
            assertThat(noCpuCapStored(b)).isTrue();
            assertThat(jsonOf(a, "lbl-b").get("guestCpus").asDouble()).isZero();
            return;
        }
        assertThat(set.out()).isEqualTo("guest-cpus of lbl-b: 0.5\n");
        assertThat(cg.guestCpuShare()).isEqualTo(OptionalDouble.of(0.5));
        assertThat(herd(b, "policy", "show").out()).contains("\nguest-cpus 0.5\n");
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> viewOf(a, "lbl-b").guestCpus() == 0.5);
        assertThat(jsonOf(a, "lbl-b").get("guestCpus").asDouble()).isEqualTo(0.5);
        assertThat(herd(a, "nodes").out()).contains("GUEST CPU");

        // A graceful stop lifts the cap; a restart applies the stored policy and labels again.
        assertThat(herd(b, "leave").exit()).isZero();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> b.pid().isEmpty());
        assertThat(cg.guestCpuShare()).isEmpty();
        cluster.restart(b);
        cluster.awaitStates(a, Map.of("lbl-b", "alive"), Duration.ofSeconds(30));
        assertThat(cg.guestCpuShare()).isEqualTo(OptionalDouble.of(0.5));
        assertThat(herd(b, "policy", "show").out()).contains("\nguest-cpus 0.5\n");
        assertThat(herd(b, "label", "ls").out()).isEqualTo("fast\n");
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> viewOf(a, "lbl-b").guestCpus() == 0.5 && viewOf(a, "lbl-b").labels().equals(List.of("fast")));

        Cli.Result none = herd(b, "policy", "set", "guest-cpus", "none");
        assertThat(none.exit()).as(none.all()).isZero();
        assertThat(cg.guestCpuShare()).isEmpty();
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> viewOf(a, "lbl-b").guestCpus() == 0);
        assertThat(herd(b, "leave").exit()).isZero();
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> b.pid().isEmpty());
        assertThat(cg.jobs()).isEmpty();
    }

    @Test
    @Order(5)
    void aBadPolicyValueIsAOneLineErrorAndChangesNothing() {
        Cli.Result bad = herd(a, "policy", "set", "guest-cpus", "lots");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).isEqualTo("herd: guest-cpus must be a number of cores from 0.01 to 4096 (e.g. 0.5), or "
                + "none/unlimited to lift the cap; not 'lots'; nothing was changed\n");
        assertThat(herd(a, "policy", "show").out()).isEqualTo(defaultPolicy());
        assertThat(noCpuCapStored(a)).isTrue();
    }

    /**
     * What `herd policy show` prints for a node nobody changed, as test clusters start it: with
     * {@code owner-io-latency off} ({@link io.herd.testing.TestCluster#noDiskBackOff}), and accepting
     * unsandboxed guests where the machine cannot sandbox.
     */
    private static String defaultPolicy() {
        return "accept always\nguest-cpus unlimited\nguest-mem-max none\nguest-network yes\nguest-mem-default 2G\n"
                + "guest-pids-max 512\naccept-unsandboxed " + (io.herd.testing.TestCluster.machineSandboxesGuests() ? "no" : "yes")
                + "\nallow-users none\ndeny-users none\nallow-nodes none\ndeny-nodes none\n"
                + "guest-io 50MB/s\nowner-io-latency off\nowner-mem-reserve 25%\nguest-mem-rate 64MB/s\n\naccepting guests now: yes\n";
    }

    private static boolean noCpuCapStored(TestCluster.TestNode n) {
        Path f = n.data().resolve("policy.properties");
        try {
            return !Files.exists(f) || Files.readString(f).contains("guest-cpus=unlimited");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
