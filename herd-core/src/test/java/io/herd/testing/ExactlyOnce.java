package io.herd.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.awaitility.Awaitility;

/**
 * One array submitted at a home node and the "nothing lost, nothing twice" check of it: every
 * job done exactly once with exit 0, every output file present once and whole, nothing else in
 * the directory (no partial {@code .herd-*.part} file, no renamed duplicate), and the home
 * journal consistent ({@link JournalInvariants}). Each job writes a file whose content differs
 * from run to run (its pid), so a second commit or a half-written file would show.
 *
 * @param herd runs the CLI against the home node (adds its data directory)
 */
public record ExactlyOnce(Path dir, List<String> ids, Function<String[], Cli.Result> herd) {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Submits {@code jobs} jobs from {@code dir}, each sleeping {@code sleep} (e.g. "0.1") then writing out{N}.txt. */
    public static ExactlyOnce submit(Path dir, int jobs, String sleep, Function<String[], Cli.Result> herd) throws IOException {
        Files.createDirectories(dir);
        String[] args = {"submit", "--each", "1.." + jobs, "--", "sh", "-c", "sleep " + sleep + "; echo item-$0 $$ > out$0.txt", "{}"};
        Cli.Result r = Cli.runIn(dir, withData(herd, args));
        assertThat(r.exit()).as(r.all()).isZero();
        Matcher m = Pattern.compile("jobs (\\S+)\\.(\\d+)\\.\\.\\S+\\.(\\d+)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        List<String> ids = new ArrayList<>();
        for (long n = Long.parseLong(m.group(2)); n <= Long.parseLong(m.group(3)); n++) ids.add(m.group(1) + "." + n);
        assertThat(ids).hasSize(jobs);
        return new ExactlyOnce(dir, ids, herd);
    }

    /** The submit must run in {@code dir}: recover the {@code --data=} the function adds. */
    private static String[] withData(Function<String[], Cli.Result> herd, String[] args) {
        String data = DataProbe.dataOf(herd);
        List<String> a = new ArrayList<>(List.of(args));
        a.add(1, "--data=" + data);
        return a.toArray(String[]::new);
    }

    /** A herd function that knows its home's data directory. */
    public static Function<String[], Cli.Result> at(Path data) {
        return new DataProbe(data);
    }

    record DataProbe(Path data) implements Function<String[], Cli.Result> {
        static String dataOf(Function<String[], Cli.Result> f) {
            if (f instanceof DataProbe p) return p.data.toString();
            throw new IllegalArgumentException("use ExactlyOnce.at(data)");
        }

        @Override
        public Cli.Result apply(String[] args) {
            List<String> a = new ArrayList<>(List.of(args));
            a.add(1, "--data=" + data);
            return Cli.run(a.toArray(String[]::new));
        }
    }

    public List<JsonNode> history() {
        Cli.Result r = herd.apply(new String[] {"history", "--json", "-n", "100000"});
        assertThat(r.exit()).as(r.all()).isZero();
        Set<String> mine = new HashSet<>(ids);
        List<JsonNode> out = new ArrayList<>();
        try {
            JSON.readTree(r.out()).forEach(j -> {
                if (mine.contains(j.get("id").asText())) out.add(j);
            });
        } catch (IOException e) {
            throw new AssertionError("herd history --json printed invalid JSON", e);
        }
        return out;
    }

    /** How many of the array's jobs have finished (any end), or -1 when the home does not answer. */
    public long finished() {
        try {
            return history().size();
        } catch (AssertionError | RuntimeException e) {
            return -1;
        }
    }

    public void awaitFinished(Duration timeout) {
        awaitFinishedAtLeast(ids.size(), timeout);
    }

    /** Waits until n jobs finished; on time-out fails with the count and the end of the home's log. */
    public void awaitFinishedAtLeast(long n, Duration timeout) {
        try {
            Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(250)).until(() -> finished() >= n);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(finished() + " of " + ids.size() + " jobs finished, not " + n + ", within " + timeout
                    + unfinished() + Cli.logTail(Path.of(DataProbe.dataOf(herd)), 60), e);
        }
    }

    /**
     * For a failure: the jobs not finished, as {@code herd ps --all} shows them (state, node,
     * reason), and every line of the home's log that names one of them.
     */
    private String unfinished() {
        try {
            Set<String> left = new java.util.LinkedHashSet<>(ids);
            history().forEach(j -> left.remove(j.get("id").asText()));
            if (left.isEmpty() || left.size() > 20) return "\n" + left.size() + " jobs not finished";
            StringBuilder b = new StringBuilder("\njobs not finished, in herd ps --all:");
            herd.apply(new String[] {"ps", "--all"}).out().lines()
                    .filter(l -> left.stream().anyMatch(id -> l.startsWith(id + " "))).forEach(l -> b.append("\n  ").append(l));
            b.append("\nthe home's log lines that name them:");
            Path log = Path.of(DataProbe.dataOf(herd)).resolve("daemon.log");
            try (Stream<String> lines = Files.lines(log)) {
                lines.filter(l -> left.stream().anyMatch(id -> l.contains(id + " ") || l.contains(id + ":") || l.endsWith(id)))
                        .forEach(l -> b.append("\n  ").append(l));
            }
            return b.toString();
        } catch (IOException | RuntimeException | AssertionError e) {
            return "\n(cannot list the jobs not finished: " + e + ")";
        }
    }

    /** Max attempts over the array's jobs (more than 1: some job ran again). */
    public int maxAttempts() {
        return history().stream().mapToInt(j -> j.get("attempts").asInt()).max().orElse(0);
    }

    /**
     * Counts instead of asserting (for the soak): jobs lost (not done with exit 0, or whose
     * output is missing or not whole), duplicates (extra or renamed files, jobs that committed
     * or ended twice) and every journal violation.
     */
    public record Tally(int jobs, int lost, int duplicated, List<String> problems) {}

    public Tally tally(Path journal) throws IOException {
        List<String> problems = new ArrayList<>();
        Set<String> done = new HashSet<>();
        for (JsonNode j : history()) {
            if (j.get("state").asText().equals("done") && j.get("exitCode").asInt() == 0) done.add(j.get("id").asText());
            else problems.add(j.get("id").asText() + " " + j.get("state").asText() + " exit " + j.get("exitCode") + " " + j.get("reason"));
        }
        int lost = ids.size() - done.size();
        for (int i = 1; i <= ids.size(); i++) {
            Path f = dir.resolve("out" + i + ".txt");
            if (!Files.exists(f) || !Files.readString(f).matches("item-" + i + " \\d+\\n")) {
                problems.add("out" + i + ".txt missing or not whole");
                if (done.contains(ids.get(i - 1))) lost++;
            }
        }
        int duplicated = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.toList()) {
                String n = p.getFileName().toString();
                if (!n.matches("out\\d+\\.txt") || Integer.parseInt(n.replaceAll("\\D", "")) > ids.size()) {
                    duplicated++;
                    problems.add("extra file " + n);
                }
            }
        }
        Path copy = dir.resolveSibling(dir.getFileName() + "-journal-" + System.nanoTime() + ".db");
        try {
            JournalInvariants.snapshot(journal, copy);
            for (String v : JournalInvariants.violations(copy, ids)) {
                problems.add("journal: " + v);
                if (v.contains(" times: ")) duplicated++;
            }
        } finally {
            Files.deleteIfExists(copy);
        }
        return new Tally(ids.size(), lost, duplicated, problems);
    }

    /** Asserts every job done once with its whole output and nothing else; then the journal at {@code journal}. */
    public void assertExactlyOnce(Path journal) throws IOException {
        List<JsonNode> mine = history();
        assertThat(mine).hasSize(ids.size());
        assertThat(mine).allSatisfy(j -> {
            assertThat(j.get("state").asText()).as(j.toString()).isEqualTo("done");
            assertThat(j.get("exitCode").asInt()).as(j.toString()).isZero();
        });
        for (int i = 1; i <= ids.size(); i++) {
            Path f = dir.resolve("out" + i + ".txt");
            assertThat(f).as("out%d.txt", i).exists();
            assertThat(Files.readString(f)).as("out%d.txt", i).matches("item-" + i + " \\d+\\n");
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertThat(names).as("no partial (.herd-*.part) or renamed duplicate file").hasSize(ids.size())
                    .allMatch(n -> n.matches("out\\d+\\.txt"));
        }
        Path copy = dir.resolveSibling(dir.getFileName() + "-journal-" + System.nanoTime() + ".db");
        try {
            JournalInvariants.snapshot(journal, copy);
            assertThat(JournalInvariants.violations(copy, ids)).as("home journal consistent").isEmpty();
        } finally {
            Files.deleteIfExists(copy);
        }
    }
}
