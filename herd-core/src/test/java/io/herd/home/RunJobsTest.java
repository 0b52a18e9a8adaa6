package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** herd run / submit / ps / wait / cancel on a real 2-node cluster, through the real CLI. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RunJobsTest {

    private TestCluster cluster;
    private TestNode home;

    @BeforeAll
    void form() {
        cluster = TestCluster.formed("", "host");
        home = cluster.node("home");
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
        // Nothing of herd's stays in the cgroup tree (v1: one directory per controller; v2: one tree).
        List<String> ours = List.of(cluster.node("home").cgroupName(), cluster.node("host").cgroupName());
        try (var all = Files.walk(Path.of("/sys/fs/cgroup"), 4)) {
            assertThat(all.filter(p -> p.getFileName() != null && ours.contains(p.getFileName().toString())).toList())
                    .as("cgroups left behind").isEmpty();
        }
    }

    private Cli.Result herd(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = args[0];
        all[1] = "--data=" + home.data();
        System.arraycopy(args, 1, all, 2, args.length - 1);
        return Cli.run(all);
    }

    @Test
    void runOnAnotherNodeKeepsStreamsApartAndReturnsTheExitStatus() {
        Cli.Result r = herd("run", "--node", "host", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 3");
        assertThat(r.exit()).as(r.all()).isEqualTo(3);
        assertThat(r.out()).isEqualTo("to-out\n");
        assertThat(r.err()).isEqualTo("to-err\n");
    }

    @Test
    void deathBySignalIs128PlusN() {
        assertThat(herd("run", "--", "sh", "-c", "kill -9 $$").exit()).isEqualTo(137);
    }

    @Test
    void stdinIsForwarded() throws Exception {
        Path in = cluster.root().resolve("stdin.txt");
        Files.writeString(in, "hello herd\n");
        ProcessBuilder pb = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), "io.herd.cli.Main", "run", "--data=" + home.data(), "--node", "host",
                "--", "tr", "a-z", "A-Z");
        pb.redirectInput(in.toFile());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).isEqualTo("HELLO HERD\n");
    }

    @Test
    void unknownProgramSaysSo() {
        Cli.Result r = herd("run", "--", "no-such-program-here");
        assertThat(r.exit()).isEqualTo(127);
        assertThat(r.err()).contains("program 'no-such-program-here' not found");
    }

    @Test
    void submitPsWaitAndCancel() {
        Cli.Result quick = herd("submit", "--", "sh", "-c", "exit 5");
        assertThat(quick.exit()).as(quick.all()).isZero();
        String quickId = quick.out().trim();
        assertThat(herd("wait", quickId).exit()).isEqualTo(5);

        String slow = herd("submit", "--node", "host", "--", "sleep", "300").out().trim();
        Awaitility.await().atMost(Duration.ofSeconds(20))
                .until(() -> herd("ps").out().lines().anyMatch(l -> l.startsWith(slow) && l.contains("running")));
        Cli.Result c = herd("cancel", slow);
        assertThat(c.exit()).isZero();
        assertThat(c.out()).contains("cancelled " + slow);
        assertThat(herd("wait", slow).exit()).isEqualTo(130);
        assertThat(herd("ps", "--all").out()).contains(quickId).contains(slow).contains("cancelled");
        // Should it fail: which process lives on, in what state and which cgroups (a job escaping its cgroup
        // survives the cgroup's kill; one frozen cannot die).
        Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ProcessHandle.allProcesses()
                .filter(ph -> ph.info().commandLine().orElse("").contains("sleep 300"))
                .map(RunJobsTest::describe).toList()).as("processes of the cancelled job").isEmpty());
    }

    private static String describe(ProcessHandle ph) {
        String where;
        try {
            where = java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(ph.pid()), "status")).lines()
                    .filter(l -> l.startsWith("State:") || l.startsWith("PPid:")).toList()
                    + " " + java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(ph.pid()), "cgroup")).replace('\n', ' ');
        } catch (java.io.IOException e) {
            where = "gone: " + e.getMessage();
        }
        return ph.pid() + " " + ph.info().commandLine().orElse("?") + " " + where;
    }

    @Test
    void unknownJobIdIsAClearError() {
        Cli.Result r = herd("wait", "home.99999");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no job or array home.99999");
    }

    @Test
    void aJobNoNodeCouldEverRunIsRefusedAtOnceAndNothingIsStored() {
        int before = herd("ps", "--all", "--json").out().length();
        Cli.Result mem = herd("run", "--mem", "4096T", "--", "true");
        assertThat(mem.exit()).as(mem.all()).isEqualTo(2);
        assertThat(mem.err()).contains("no node can ever run this").contains("mem");
        Cli.Result on = herd("submit", "--on", "cores>=4096", "--", "true");
        assertThat(on.exit()).as(on.all()).isEqualTo(2);
        assertThat(on.err()).contains("no node can ever run this").contains("cores");
        Cli.Result node = herd("submit", "--node", "nosuch", "--", "true");
        assertThat(node.exit()).as(node.all()).isEqualTo(2);
        assertThat(node.err()).contains("no node named nosuch");
        Cli.Result array = herd("submit", "--each", "1..3", "--node", "nosuch", "--", "true");
        assertThat(array.exit()).as(array.all()).isEqualTo(2);
        assertThat(herd("ps", "--all", "--json").out().length()).as("nothing was stored").isEqualTo(before);
    }

    @Test
    void aHostThatRefusesTheStartLeavesTheJobQueuedWithTheReasonAndSpendsNoAttempt() {
        TestNode host = cluster.node("host");
        Cli.Result off = Cli.run("policy", "set", "guest-network", "no", "--data=" + host.data());
        assertThat(off.exit()).as(off.all()).isZero();
        try {
            // No retries at all: a refusal that spent the one placement would hold the job.
            String id = herd("submit", "--node", "host", "--net", "--max-retries", "0", "--", "true").out().trim();
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> herd("ps").out().lines().anyMatch(l ->
                    l.startsWith(id) && l.contains("queued") && l.contains("refused by host") && l.contains("guest-network no")));
            Cli.Result on = Cli.run("policy", "set", "guest-network", "yes", "--data=" + host.data());
            assertThat(on.exit()).as(on.all()).isZero();
            Cli.Result waited = herd("wait", id);
            assertThat(waited.exit()).as(waited.all()).isZero();
            assertThat(herd("ps", "--all").out().lines().filter(l -> l.startsWith(id)).findFirst().orElseThrow())
                    .contains("done").contains("host");
        } finally {
            Cli.run("policy", "set", "guest-network", "yes", "--data=" + host.data());
        }
    }
}
