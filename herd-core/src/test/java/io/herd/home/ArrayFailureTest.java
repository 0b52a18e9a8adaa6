package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Nothing lost, nothing twice: a 200-job array whose host is killed mid-way, and one whose home
 * daemon is killed and restarted mid-way, each still yield every output exactly once, whole.
 * Each job writes a file whose content differs from run to run, so a job that ran twice and
 * committed twice, or a half-written file, would show.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ArrayFailureTest {

    private static final int JOBS = 200;
    private static final ObjectMapper JSON = new ObjectMapper();
    private TestCluster cluster;
    private TestNode home;

    @BeforeAll
    void form() {
        cluster = new TestCluster();
        home = cluster.init("home", "lab");
        String token = cluster.token(home, 2);
        cluster.join("h1", home, token);
        cluster.join("h2", home, token);
        cluster.awaitStates(home, Map.of("home", "alive", "h1", "alive", "h2", "alive"), Duration.ofSeconds(40));
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    private Cli.Result herd(Path dir, String... args) {
        List<String> a = new ArrayList<>(List.of(args));
        a.add(1, "--data=" + home.data());
        return Cli.runIn(dir, a.toArray(String[]::new));
    }

    /** Submits the array from {@code dir}; returns its job ids. */
    private List<String> submit(Path dir) {
        Cli.Result r = herd(dir, "submit", "--each", "1.." + JOBS, "--",
                "sh", "-c", "sleep 0.3; echo item-$0 $$ $(date +%s%N) > out$0.txt", "{}");
        assertThat(r.exit()).as(r.all()).isZero();
        Matcher m = Pattern.compile("jobs (\\S+)\\.(\\d+)\\.\\.\\S+\\.(\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        List<String> ids = new ArrayList<>();
        for (long n = Long.parseLong(m.group(2)); n <= Long.parseLong(m.group(3)); n++) ids.add(m.group(1) + "." + n);
        assertThat(ids).hasSize(JOBS);
        return ids;
    }

    private List<JsonNode> history() throws Exception {
        Cli.Result r = Cli.run("history", "--data=" + home.data(), "--json", "-n", "100000");
        assertThat(r.exit()).as(r.all()).isZero();
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(r.out()).forEach(out::add);
        return out;
    }

    private long finished(List<String> ids) throws Exception {
        return history().stream().filter(j -> ids.contains(j.get("id").asText())).count();
    }

    private void awaitAllFinished(List<String> ids) {
        Awaitility.await().atMost(Duration.ofSeconds(240)).pollInterval(Duration.ofSeconds(1)).until(() -> finished(ids) == JOBS);
    }

    /** Every job done with exit 0, every output present once and whole, nothing else in the directory. */
    private void assertExactlyOnce(Path dir, List<String> ids) throws Exception {
        List<JsonNode> mine = history().stream().filter(j -> ids.contains(j.get("id").asText())).toList();
        assertThat(mine).hasSize(JOBS);
        assertThat(mine).allSatisfy(j -> {
            assertThat(j.get("state").asText()).as(j.toString()).isEqualTo("done");
            assertThat(j.get("exitCode").asInt()).as(j.toString()).isZero();
        });
        for (int i = 1; i <= JOBS; i++) {
            String content = Files.readString(dir.resolve("out" + i + ".txt"));
            assertThat(content).as("out%d.txt", i).matches("item-" + i + " \\d+ \\d+\\n");
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertThat(names).as("no partial (.herd-*.part) or renamed duplicate file").hasSize(JOBS)
                    .allMatch(n -> n.matches("out\\d+\\.txt"));
        }
    }

    @Test
    @Order(1)
    void aHostKilledMidArrayLosesNothing() throws Exception {
        Path dir = Files.createDirectories(cluster.root().resolve("kill-host"));
        TestNode h1 = cluster.node("h1");
        List<String> ids = submit(dir);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() ->
                Cli.run("ps", "--data=" + home.data(), "--json").out().contains("h1") && finished(ids) >= 20);
        cluster.kill9(h1);
        awaitAllFinished(ids);
        assertExactlyOnce(dir, ids);
        assertThat(history().stream().filter(j -> ids.contains(j.get("id").asText())).mapToInt(j -> j.get("attempts").asInt()).max().orElse(0))
                .as("some job was running on the killed host and was placed again").isGreaterThan(1);
        cluster.restart(h1);
    }

    @Test
    @Order(2)
    void theHomeKilledAndRestartedMidArrayLosesNothing() throws Exception {
        Path dir = Files.createDirectories(cluster.root().resolve("kill-home"));
        List<String> ids = submit(dir);
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> finished(ids) >= 40);
        cluster.kill9(home);
        cluster.restart(home);
        awaitAllFinished(ids);
        assertExactlyOnce(dir, ids);
        assertThat(history().stream().filter(j -> ids.contains(j.get("id").asText())).mapToInt(j -> j.get("attempts").asInt()).max().orElse(0))
                .as("jobs running when the home died ran again").isGreaterThan(1);
    }
}
