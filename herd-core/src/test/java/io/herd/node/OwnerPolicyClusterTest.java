package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The owner's policy on a real 3-node cluster, through the real CLI: jobs are
 * submitted at {@code home}; {@code b} and {@code c} carry the label
 * {@code pool}, so {@code --on label==pool} keeps them off home. A locked
 * host is skipped (homes do not even offer to it) and a job pinned to it
 * waits until {@code herd unlock}; deny-users and deny-nodes send jobs
 * elsewhere, and a job no node accepts waits until a policy changes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OwnerPolicyClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Gossip freshness is about 2 s; slack for a shared, busy test machine. */
    private static final Duration FRESHNESS = Duration.ofSeconds(10);
    private static final Duration JOB = Duration.ofSeconds(60);
    private static final String ME = System.getProperty("user.name");

    private TestCluster cluster;
    private TestNode home;
    private TestNode b;
    private TestNode c;

    @BeforeAll
    void form() {
        cluster = TestCluster.formed("", "b", "c");
        home = cluster.node("home");
        b = cluster.node("b");
        c = cluster.node("c");
        for (TestNode n : List.of(b, c)) assertThat(herd(n, "label", "add", "pool").exit()).isZero();
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> json(home, "b").get("labels").size() == 1 && json(home, "c").get("labels").size() == 1);
    }

    @AfterAll
    void stop() {
        if (cluster != null) cluster.close();
    }

    /** Runs {@code herd ARGS} against node {@code n}: its --data goes before any {@code --}. */
    private static Cli.Result herd(TestNode n, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        int dashes = all.indexOf("--");
        all.add(dashes < 0 ? all.size() : dashes, "--data=" + n.data());
        return Cli.run(all.toArray(String[]::new));
    }

    private static Cli.Result ok(Cli.Result r) {
        assertThat(r.exit()).as(r.all()).isZero();
        return r;
    }

    private JsonNode json(TestNode observer, String name) {
        return cluster.nodesJson(observer).stream().filter(o -> o.get("name").asText().equals(name)).findFirst()
                .orElseThrow();
    }

    private void awaitGuests(String node, String state) {
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> json(home, node).get("guests").asText().equals(state));
    }

    private String submit(String... options) {
        List<String> args = new ArrayList<>(List.of("submit"));
        args.addAll(List.of(options));
        args.addAll(List.of("--", "sh", "-c", "echo placed"));
        return ok(herd(home, args.toArray(String[]::new))).out().trim();
    }

    /** The job's row in home's {@code herd ps --all --json}. */
    private JsonNode job(String id) throws Exception {
        for (JsonNode j : JSON.readTree(ok(herd(home, "ps", "--all", "--json")).out())) {
            if (j.get("id").asText().equals(id)) return j;
        }
        throw new AssertionError("job " + id + " not in herd ps --all --json");
    }

    /** Waits for the jobs to end well and returns the nodes they ran on. */
    private List<String> ranOn(List<String> ids) throws Exception {
        List<String> nodes = new ArrayList<>();
        for (String id : ids) {
            ok(herd(home, "wait", id));
            nodes.add(job(id).get("node").asText());
        }
        return nodes;
    }

    /** When the job started, in epoch ms, from home's {@code herd history --json}. */
    private long startedMs(String id) throws Exception {
        for (JsonNode j : JSON.readTree(ok(herd(home, "history", "--json", "-n", "1000")).out())) {
            if (j.get("id").asText().equals(id)) return j.get("startedMs").asLong();
        }
        throw new AssertionError("job " + id + " not in herd history --json");
    }

    private String daemonLog(TestNode n) throws Exception {
        return Files.readString(n.data().resolve("daemon.log"));
    }

    @Test
    @Order(1)
    void lockIsGossipedShownAndKeepsGuestsOffUntilUnlock() throws Exception {
        Cli.Result lock = ok(herd(b, "lock", "--reason", "backup running"));
        assertThat(lock.out()).isEqualTo("locked b: it takes no new guests until `herd unlock`; guests already running go on\n");
        awaitGuests("b", "locked");
        assertThat(json(home, "b").get("guestsReason").asText()).isEqualTo("backup running");
        assertThat(json(home, "c").get("guests").asText()).isEqualTo("yes");
        String table = ok(herd(home, "nodes")).out();
        assertThat(table).contains("ACCEPT");
        assertThat(table.lines().filter(l -> l.startsWith("b ")).findFirst().orElseThrow()).contains("locked");
        assertThat(ok(herd(b, "policy", "show")).out())
                .endsWith("\naccepting guests now: no, locked by the owner (backup running)\n");

        // Jobs for the pool all go to c: home does not even offer them to b.
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4; i++) ids.add(submit("--on", "label==pool"));
        assertThat(ranOn(ids)).containsOnly("c");

        // A job only b may run waits in the queue, not failed, until its owner unlocks.
        String pinned = submit("--node", "b");
        assertThat(job(pinned).get("state").asText()).isEqualTo("queued");
        long beforeUnlock = System.currentTimeMillis();
        Cli.Result unlock = ok(herd(b, "unlock"));
        assertThat(unlock.out()).isEqualTo("unlocked b; it takes guests again\n");
        assertThat(ranOn(List.of(pinned))).containsExactly("b");
        assertThat(startedMs(pinned)).as("started only after the unlock").isGreaterThanOrEqualTo(beforeUnlock);
        for (String id : ids) assertThat(daemonLog(b)).doesNotContain("refused job " + id);
        assertThat(daemonLog(b)).as("never offered while locked").doesNotContain("refused job " + pinned);
        awaitGuests("b", "yes");
    }

    @Test
    @Order(2)
    void theOwnersOwnJobsRunOnTheirLockedNode() {
        ok(herd(home, "lock"));
        Cli.Result run = herd(home, "run", "--local", "--", "sh", "-c", "echo mine");
        assertThat(run.exit()).as(run.all()).isZero();
        assertThat(run.out()).isEqualTo("mine\n");
        ok(herd(home, "unlock"));
    }

    @Test
    @Order(3)
    void deniedUsersAndNodesAreSentElsewhere() throws Exception {
        assertThat(ok(herd(c, "policy", "set", "deny-users", ME)).out()).isEqualTo("deny-users of c: " + ME + "\n");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) ids.add(submit("--on", "label==pool"));
        assertThat(ranOn(ids)).containsOnly("b");

        ok(herd(c, "policy", "set", "deny-users", "none"));
        ok(herd(b, "policy", "set", "deny-nodes", "home"));
        ids.clear();
        for (int i = 0; i < 3; i++) ids.add(submit("--on", "label==pool"));
        assertThat(ranOn(ids)).containsOnly("c");
        ok(herd(b, "policy", "set", "deny-nodes", "none"));
    }

    @Test
    @Order(4)
    void aJobNoNodeAcceptsWaitsAndStartsWhenAPolicyChanges() throws Exception {
        ok(herd(b, "lock"));
        ok(herd(c, "policy", "set", "deny-nodes", "home"));
        awaitGuests("b", "locked");
        String id = submit("--on", "label==pool");
        // c refuses it by its policy (once) and b is locked: it waits, queued, not failed.
        Awaitility.await().atMost(FRESHNESS).pollInterval(Duration.ofMillis(100))
                .until(() -> daemonLog(c).contains("refused job " + id));
        assertThat(job(id).get("state").asText()).isEqualTo("queued");
        // c's owner lets home in: a new policy stamp, gossiped; home offers the job there again.
        ok(herd(c, "policy", "set", "deny-nodes", "none"));
        assertThat(ranOn(List.of(id))).containsExactly("c");
        ok(herd(b, "unlock"));
    }

    @Test
    @Order(5)
    void policyShowListsEveryKeyAndBadValuesChangeNothing() throws Exception {
        String show = ok(herd(c, "policy", "show")).out();
        for (String key : io.herd.policy.Policy.KEYS) assertThat("\n" + show).contains("\n" + key + " ");
        assertThat(show).startsWith("accept always\n").endsWith("\naccepting guests now: yes\n");

        Cli.Result windows = ok(herd(c, "policy", "set", "accept", "windows", "Mon-Fri 19:00-08:00; Sat-Sun"));
        assertThat(windows.out()).isEqualTo("accept of c: windows Mon-Fri 19:00-08:00; Sat-Sun\n");
        String before = Files.readString(c.data().resolve("policy.properties"));
        Cli.Result bad = herd(c, "policy", "set", "accept", "when-idle", "ten");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).isEqualTo("herd: accept when-idle: 'ten' is not a duration; write a number with a unit "
                + "(s, m, h, d), e.g. when-idle 10m or when-idle 1h30m; nothing was changed\n");
        assertThat(Files.readString(c.data().resolve("policy.properties"))).isEqualTo(before);
        ok(herd(c, "policy", "set", "accept", "always"));
        assertThat(herd(c, "lock", "--reason", "two\nlines").err())
                .isEqualTo("herd: the reason must be one line of text without control characters; nothing was changed\n");
        assertThat(json(home, "c").get("guests").asText()).isEqualTo("yes");
    }
}
