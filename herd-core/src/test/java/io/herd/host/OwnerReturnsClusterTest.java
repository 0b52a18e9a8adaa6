package io.herd.host;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The owner comes back, on a real 2-node cluster through the real CLI. Each daemon's owner
 * input is the test input source {@code owner/input} in its data directory (a touch = a key
 * press); the grace is 6 s (long enough for `herd ps` to see a frozen job on a loaded machine). Jobs are CPU loops that run until the test creates their marker
 * file, so each test decides when an attempt may finish. Guests are placed on {@code host}
 * through its label {@code spare}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OwnerReturnsClusterTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);
    private final String mark = "herd-owner-test-" + ProcessHandle.current().pid();
    /** Visible read-only inside the guests' sandbox, unlike /tmp and /var/tmp. */
    private final Path markers = Path.of("/var/cache", mark);
    private TestCluster cluster;
    private TestNode home;
    private TestNode host;

    @BeforeAll
    void form() throws IOException {
        Files.createDirectories(markers);
        cluster = TestCluster.formed("-Dherd.ownerInput=owner/input -Dherd.ownerGrace=6s -Dherd.ownerQuiet=60s -Dherd.checkpointGraceMillis=3000", "host");
        home = cluster.node("home");
        host = cluster.node("host");
        assertThat(herd(host, "label", "add", "spare").exit()).isZero();
        Awaitility.await().atMost(WAIT).until(() -> cluster.views(home).stream()
                .anyMatch(v -> v.name().equals("host") && v.labels().contains("spare")));
    }

    @AfterAll
    void stop() throws IOException {
        try {
            if (cluster != null) cluster.close();
        } finally {
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> jobPids().isEmpty());
            try (var files = Files.list(markers)) {
                for (Path p : files.toList()) Files.delete(p);
            }
            Files.delete(markers);
        }
    }

    @Test
    @Order(1)
    void expelEvictsEveryGuestAndItsHomePlacesItAgainWithoutCountingIt() throws Exception {
        String id = submit("expel");
        awaitRunningOn(id, "host");
        Cli.Result r = herd(host, "expel", "--reason", "maintenance");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).isEqualTo("evicted 1 guest from host (their home nodes place them again): " + id + "\n");
        // --max-retries 0, and still placed again: an eviction is not the job's failure.
        Awaitility.await().atMost(WAIT).until(() -> attempts(id) == 2 && state(id).equals("running"));
        finish("expel");
        assertThat(herd(home, "wait", id).exit()).isZero();
        JsonNode h = history(id);
        assertThat(h.get("state").asText()).isEqualTo("done");
        assertThat(h.get("attempts").asInt()).isEqualTo(2);
        assertThat(herd(host, "expel").out()).isEqualTo("no guests to expel on host\n");
    }

    @Test
    @Order(2)
    void homeSendsARunningJobBackToItsHomeNode() throws Exception {
        String id = submit("home");
        awaitRunningOn(id, "host");
        Cli.Result r = herd(home, "home", id);
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).isEqualTo("job " + id + " evicted from host; it runs again here at its home node\n");
        Awaitility.await().atMost(WAIT).until(() -> attempts(id) == 2 && state(id).equals("running"));
        assertThat(node(id)).isEqualTo("home");
        finish("home");
        assertThat(herd(home, "wait", id).exit()).isZero();
        JsonNode h = history(id);
        assertThat(h.get("node").asText()).isEqualTo("home");
        assertThat(h.get("attempts").asInt()).isEqualTo(2);
        Cli.Result again = herd(home, "home", id);
        assertThat(again.exit()).isEqualTo(2);
        assertThat(again.err()).contains("job " + id + " has ended (done); nothing to send home");
    }

    @Test
    @Order(3)
    void aCheckpointingJobSavesItsStateWhenEvictedAndItsNextAttemptResumesFromIt(@TempDir Path cwd) throws Exception {
        String id = submitCounting(cwd, "ckpt", "signal");
        awaitRunningOn(id, "host");
        Cli.Result r = herd(host, "expel");
        assertThat(r.exit()).as(r.all()).isZero();
        Awaitility.await().atMost(WAIT).until(() -> attempts(id) == 2 && state(id).equals("running"));
        finish("ckpt");
        assertThat(herdIn(cwd, home, "wait", id).exit()).isZero();
        // The second attempt ran in a fresh sandbox and found the count the first one saved.
        String out = herd(home, "logs", id).out();
        assertThat(out).matches("started from [1-9][0-9]*\nfinished\n");
        long resumedFrom = Long.parseLong(out.substring("started from ".length(), out.indexOf('\n')));
        // The saved state is one of the job's files: it comes home with the outputs at the end.
        assertThat(Long.parseLong(Files.readString(cwd.resolve("state")).trim())).isEqualTo(resumedFrom);
        JsonNode h = history(id);
        assertThat(h.get("state").asText()).isEqualTo("done");
        assertThat(h.get("attempts").asInt()).isEqualTo(2);
        // herd history ID tells the story from the journal.
        Cli.Result story = herd(home, "history", id);
        assertThat(story.exit()).as(story.all()).isZero();
        assertThat(story.out().lines().map(l -> l.trim().split("\\s+", 4)).filter(f -> f.length > 2).map(f -> f[2]).toList())
                .containsSubsequence("submitted", "placed", "running", "checkpointed", "queued", "placed", "running", "done");
        assertThat(story.out()).contains("checkpointed attempt 1 on host saved 1 file")
                .contains("evicted: expelled by ").contains(" on host; it resumes from its checkpoint");
        JsonNode events = JSON.readTree(herd(home, "history", "--json", id).out()).get("events");
        assertThat(events.get(0).get("kind").asText()).isEqualTo("submitted");
        Cli.Result unknown = herd(home, "history", "home.999999");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("no job home.999999");
    }

    @Test
    @Order(4)
    void aJobThatDoesNotCheckpointInTimeIsKilledAndStartsAgain(@TempDir Path cwd) throws Exception {
        // Asked with USR2, which it ignores: after the grace (3 s here) it is killed, and starts from nothing.
        String id = submitCounting(cwd, "nockpt", "signal:USR2");
        awaitRunningOn(id, "host");
        assertThat(herd(host, "expel").exit()).isZero();
        Awaitility.await().atMost(WAIT).until(() -> attempts(id) == 2 && state(id).equals("running"));
        finish("nockpt");
        assertThat(herdIn(cwd, home, "wait", id).exit()).isZero();
        assertThat(herd(home, "logs", id).out()).isEqualTo("started from 0\nfinished\n");
        assertThat(cwd.resolve("state")).doesNotExist();
        assertThat(jobPids("nockpt")).isEmpty();
    }

    @Test
    @Order(4)
    void aBadCheckpointModeIsAUsageError(@TempDir Path cwd) {
        Cli.Result r = herdIn(cwd, home, "submit", "--checkpoint", "criu", "--", "true");
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(r.err()).contains("--checkpoint 'criu': use none, signal (SIGUSR1) or signal:SIG");
        Cli.Result sig = herdIn(cwd, home, "submit", "--checkpoint", "signal:KILL", "--", "true");
        assertThat(sig.exit()).isEqualTo(2);
        assertThat(sig.err()).contains("unknown signal 'KILL'");
    }

    @Test
    @Order(5)
    void ownerInputFreezesTheGuestAtOnceThenTheGraceEndsInEvictionAndItRunsElsewhereOnce() throws Exception {
        String id = submit("owner");
        awaitRunningOn(id, "host");
        List<Long> pids = jobPids("owner");
        assertThat(pids).isNotEmpty();

        touch(host.data().resolve("owner/input"));
        Awaitility.await().atMost(WAIT).pollInterval(Duration.ofMillis(10))
                .until(() -> !jobPids("owner").isEmpty() && jobPids("owner").stream().allMatch(OwnerReturnsClusterTest::frozen));
        Awaitility.await().atMost(WAIT).until(() -> state(id).equals("frozen"));
        assertThat(ps(id).get("reason").asText()).isEqualTo("frozen: the owner is back (owner input) on host");

        // The frozen attempt can no longer see it; only a new attempt can finish.
        finish("owner");
        // Only home can take it now: host takes no guests while its owner works.
        assertThat(herd(home, "label", "add", "spare").exit()).isZero();
        Awaitility.await().atMost(WAIT).until(() -> terminal(id));
        JsonNode h = history(id);
        assertThat(h.get("state").asText()).isEqualTo("done");
        assertThat(h.get("node").asText()).isEqualTo("home");
        assertThat(h.get("attempts").asInt()).isEqualTo(2);
        Cli.Result logs = herd(home, "logs", id);
        assertThat(logs.out()).isEqualTo("finished\n");
        Awaitility.await().atMost(WAIT).until(() -> pids.stream().noneMatch(p -> ProcessHandle.of(p).isPresent()));
    }

    // ------------------------------------------------------------------ helpers

    /** A guest for host: loops on the CPU until {@code markers/NAME} exists, then prints "finished". */
    private String submit(String name) {
        Path marker = markers.resolve(name);
        Cli.Result s = herd(home, "submit", "--on", "label==spare", "--max-retries", "0", "--", "sh", "-c",
                "while [ ! -e " + marker + " ]; do :; done; echo finished");
        assertThat(s.exit()).as(s.all()).isZero();
        return s.out().trim();
    }

    /**
     * A guest for host that counts on the CPU until {@code markers/NAME} exists, starting from the
     * count in its file {@code state} if it has one, and saves the count there on SIGUSR1 (exit 85).
     */
    private String submitCounting(Path cwd, String name, String checkpoint) {
        Path marker = markers.resolve(name);
        String script = "n=0; [ -f state ] && n=$(cat state); echo \"started from $n\"; "
                + "trap 'echo $n > state.new && mv state.new state; exit 85' USR1; trap '' USR2; "
                + "while [ ! -e " + marker + " ]; do n=$((n+1)); done; echo finished";
        Cli.Result s = herdIn(cwd, home, "submit", "--on", "label==spare", "--max-retries", "0", "--checkpoint", checkpoint,
                "--", "sh", "-c", script);
        assertThat(s.exit()).as(s.all()).isZero();
        return s.out().trim();
    }

    private void finish(String name) throws IOException {
        Files.writeString(markers.resolve(name), "");
    }

    private void awaitRunningOn(String id, String node) {
        Awaitility.await().atMost(WAIT).until(() -> state(id).equals("running") && node(id).equals(node)
                && !jobPids().isEmpty());
    }

    private JsonNode ps(String id) throws IOException {
        for (JsonNode j : JSON.readTree(herd(home, "ps", "--all", "--json").out())) {
            if (j.get("id").asText().equals(id)) return j;
        }
        throw new AssertionError("no job " + id + " in herd ps --all");
    }

    private String state(String id) throws IOException {
        return ps(id).get("state").asText();
    }

    private String node(String id) throws IOException {
        return ps(id).get("node").asText();
    }

    private int attempts(String id) throws IOException {
        return ps(id).get("attempts").asInt();
    }

    private boolean terminal(String id) throws IOException {
        return List.of("done", "failed", "cancelled", "held").contains(state(id));
    }

    private JsonNode history(String id) throws IOException {
        for (JsonNode j : JSON.readTree(herd(home, "history", "--json", "-n", "0").out())) {
            if (j.get("id").asText().equals(id)) return j;
        }
        throw new AssertionError("no job " + id + " in herd history");
    }

    private static Cli.Result herdIn(Path cwd, TestNode n, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        int dashes = all.indexOf("--");
        all.add(dashes < 0 ? all.size() : dashes, "--data=" + n.data());
        return Cli.runIn(cwd, all.toArray(String[]::new));
    }

    private static Cli.Result herd(TestNode n, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        int dashes = all.indexOf("--");
        all.add(dashes < 0 ? all.size() : dashes, "--data=" + n.data());
        return Cli.run(all.toArray(String[]::new));
    }

    private static void touch(Path f) throws IOException {
        if (!Files.exists(f)) Files.writeString(f, "");
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(1)));
    }

    /** The live processes whose command line names this test's markers (the jobs' shells). */
    private List<Long> jobPids() {
        return jobPids("");
    }

    private List<Long> jobPids(String name) {
        String needle = markers.resolve(name).toString();
        List<Long> out = new ArrayList<>();
        ProcessHandle.allProcesses().forEach(h -> {
            String cmd = io.herd.executor.CommandLines.of(h.pid());
            if (cmd.contains(needle) && !cmd.startsWith("bwrap")) out.add(h.pid());
        });
        return out;
    }


    /** Stopped (SIGSTOP: state T) or in a frozen cgroup (v1 freezer.state FROZEN, v2 cgroup.events frozen 1). */
    static boolean frozen(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            if (state == 'T') return true;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length < 3) continue;
                Optional<Path> file = f[1].equals("freezer") ? Optional.of(Path.of("/sys/fs/cgroup/freezer" + f[2], "freezer.state"))
                        : f[0].equals("0") ? Optional.of(Path.of("/sys/fs/cgroup" + f[2], "cgroup.events")) : Optional.empty();
                if (file.isPresent() && Files.exists(file.get())) {
                    String s = Files.readString(file.get());
                    if (s.trim().equals("FROZEN") || s.contains("frozen 1")) return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
