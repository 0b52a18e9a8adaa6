package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every way a join can go wrong gives one line saying what to do, a non-zero
 * exit status, and no data directory (not even a half-written one).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JoinRefusalTest {

    private TestCluster cluster;
    private TestNode ca;

    @BeforeAll
    void start() {
        cluster = new TestCluster();
        ca = cluster.init("root", "lab");
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    private Cli.Result join(String name, String addr, String token) {
        return join(name, name, addr, token);
    }

    /** @param dirName the data directory's name, @param name the node name asked for */
    private Cli.Result join(String dirName, String name, String addr, String token) {
        TestNode n = cluster.plan(dirName);
        Cli.Result r = Cli.run("join", addr, "--token", token, "--name", name, "--listen", n.grpc(), "--data", n.data().toString());
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.err().trim().lines().count()).as("one line: %s", r.err()).isEqualTo(1);
        assertThat(r.err()).startsWith("herd: ");
        assertThat(n.data()).doesNotExist();
        assertNoScratchLeft();
        return r;
    }

    private void assertNoScratchLeft() {
        try (Stream<Path> s = Files.list(cluster.root())) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(f -> f.contains(".new-"));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void garbageToken() {
        Cli.Result r = join("g1", ca.grpc(), "not-a-token");
        assertThat(r.err()).contains("not a herd join token").contains("herd token");
    }

    @Test
    void expiredToken() {
        Cli.Result t = Cli.run("token", "--ttl", "1s", "--data", ca.data().toString());
        assertThat(t.exit()).isZero();
        String token = t.out().trim().replaceFirst(".*--token ", "");
        Instant issued = Instant.now();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> Instant.now().isAfter(issued.plusSeconds(2)));
        Cli.Result r = join("e1", ca.grpc(), token);
        assertThat(r.err()).contains("expired").contains("herd token");
    }

    @Test
    void reusedToken() {
        String token = cluster.token(ca, 1);
        cluster.join("once", ca, token);
        Cli.Result r = join("twice", ca.grpc(), token);
        assertThat(r.err()).containsIgnoringCase("already").contains("herd token");
    }

    @Test
    void tokenOfAnotherClusterFailsThePinCheck() {
        TestNode other = cluster.init("other", "elsewhere");
        String foreign = cluster.token(other, 1);
        Cli.Result r = join("p1", ca.grpc(), foreign);
        assertThat(r.err()).contains("pin");
    }

    @Test
    void unreachableAddress() {
        int nothing = TestCluster.freePortPair();
        Cli.Result r = join("u1", "127.0.0.1:" + nothing, cluster.token(ca, 1));
        assertThat(r.err()).contains("cannot reach").contains("127.0.0.1:" + nothing);
    }

    @Test
    void nameAlreadyInUse() {
        Cli.Result r = join("dup", "root", ca.grpc(), cluster.token(ca, 1));
        assertThat(r.err()).contains("already in use").contains("--name");
    }

    @Test
    void badNodeName() {
        Cli.Result r = join("Bad_Name", ca.grpc(), cluster.token(ca, 1));
        assertThat(r.err()).contains("bad node name");
    }

    private Cli.Result initFails(String dirName, String... extra) {
        TestNode n = cluster.plan(dirName);
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("init", "--name", dirName, "--data", n.data().toString()));
        args.addAll(java.util.List.of(extra));
        Cli.Result r = Cli.run(args.toArray(String[]::new));
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.err().trim().lines().count()).as("one line: %s", r.err()).isEqualTo(1);
        assertThat(n.data()).doesNotExist();
        assertNoScratchLeft();
        return r;
    }

    @Test
    void initRefusesABadListenAddress() {
        Cli.Result r = initFails("i1", "--listen", "127.0.0.1:http");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("bad --listen").contains("port must be a number");
    }

    @Test
    void initRefusesAPortInUse() {
        Cli.Result r = initFails("i2", "--listen", ca.grpc());
        assertThat(r.err()).contains("port " + ca.port()).contains("in use").contains("--listen");
    }

    @Test
    void initRefusesADirectoryThatHoldsANode() throws Exception {
        String before = java.nio.file.Files.readString(ca.data().resolve("node.properties"));
        Cli.Result r = Cli.run("init", "--name", "again", "--listen", "127.0.0.1:" + TestCluster.freePortPair(),
                "--data", ca.data().toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("already holds a herd node").contains("--data");
        assertThat(java.nio.file.Files.readString(ca.data().resolve("node.properties"))).isEqualTo(before);
    }

    @Test
    void tokenRefusesABadTtl() {
        Cli.Result r = Cli.run("token", "--ttl", "5x", "--data", ca.data().toString());
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err().trim()).isEqualTo("herd: bad --ttl '5x': use a duration such as 90s, 10m, 1h or 2d");
    }

    @Test
    void removeRefusesThisNodeAndUnknownNames() {
        Cli.Result self = Cli.run("node", "remove", "root", "--data", ca.data().toString());
        assertThat(self.exit()).isEqualTo(2);
        assertThat(self.err()).contains("refusing to remove this node itself").contains("herd leave");
        Cli.Result ghost = Cli.run("node", "remove", "ghost", "--data", ca.data().toString());
        assertThat(ghost.exit()).isEqualTo(2);
        assertThat(ghost.err()).startsWith("herd: ").contains("ghost");
    }

    @Test
    void noDaemonIsAClearError() {
        Path empty = cluster.root().resolve("nobody-here");
        Cli.Result r = Cli.run("nodes", "--data", empty.toString());
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().trim()).isEqualTo("herd: no herd daemon is running for " + empty
                + "; start one with `herd init` or `herd join`");
    }
}
