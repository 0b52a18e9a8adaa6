package io.herd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.herd.testing.Cli;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code herd demo} as CI runs it (no terminal): it forms its cluster, runs its workload over the
 * pool, prints the summary and where the jobs ran, exits 0, and leaves nothing behind: no daemon,
 * no directory, no cgroup. Two nodes keep it short; the demo's temporary directory goes under a
 * directory of this test's own ({@code java.io.tmpdir} through {@code JAVA_TOOL_OPTIONS}, which
 * the demo's daemons inherit), so "nothing left" does not race other runs on the machine.
 */
class DemoCommandTest {

    private static final int NODES = 2;
    private static final int JOBS = 6;
    private static final Pattern ROOT = Pattern.compile("data under (\\S+)");
    private static final Pattern SUMMARY = Pattern.compile(
            "herd: array \\S+: (\\d+) jobs, (\\d+) done, (\\d+) failed.*speedup (\\d+\\.\\d)x over one core");
    private static final Pattern PER_NODE = Pattern.compile("(?m)^  (node\\d+) .*?(\\d+) jobs? ");

    private Path tmp;
    private List<Path> cgroupsBefore;

    @BeforeEach
    void setUp() throws IOException {
        tmp = Files.createTempDirectory("herd-demo-test-");
        cgroupsBefore = demoCgroups();
    }

    @AfterEach
    void tearDown() throws IOException {
        try (Stream<Path> s = Files.walk(tmp)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void builtinWorkloadRunsOverThePoolAndLeavesNothingBehind() throws IOException {
        Cli.Result r = demo("builtin");
        assertThat(r.out()).contains("running " + JOBS + " CPU-bound jobs");
        for (int i = 1; i <= JOBS; i++) assertThat(r.out()).containsPattern("(?m)^job " + i + ": checksum \\d+$");
        assertRanAndCleanedUp(r);
    }

    @Test
    void genrsaKeysComeBackIntoTheWorkDirectory() throws IOException {
        assumeTrue(DemoWorkload.onPath("openssl"), "openssl is not installed");
        Cli.Result r = demo("genrsa");
        assertThat(r.out()).contains(JOBS + " of " + JOBS + " keys came back into").contains(JOBS + " are a PEM private key");
        assertRanAndCleanedUp(r);
    }

    private Cli.Result demo(String workload) {
        return Cli.run(Map.of("JAVA_TOOL_OPTIONS", "-Djava.io.tmpdir=" + tmp), List.of(),
                "demo", "--nodes", Integer.toString(NODES), "--jobs", Integer.toString(JOBS), "--workload", workload);
    }

    private void assertRanAndCleanedUp(Cli.Result r) throws IOException {
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).as(r.all()).contains("cluster of " + NODES + " formed");
        // Plain lines only: no monitor, no progress bar.
        assertThat(r.all()).doesNotContain("\u001b[").doesNotContain("\r");

        Matcher m = SUMMARY.matcher(r.err());
        assertThat(m.find()).as("summary line in: %s", r.err()).isTrue();
        assertThat(Integer.parseInt(m.group(1))).isEqualTo(JOBS);
        assertThat(Integer.parseInt(m.group(2))).as("done").isEqualTo(JOBS);
        assertThat(Integer.parseInt(m.group(3))).as("failed").isZero();
        assertThat(Double.parseDouble(m.group(4))).as("speedup").isPositive();

        Map<String, Integer> perNode = new LinkedHashMap<>();
        Matcher p = PER_NODE.matcher(r.out().substring(r.out().indexOf("where the jobs ran")));
        while (p.find()) perNode.put(p.group(1), Integer.parseInt(p.group(2)));
        assertThat(perNode).as(r.out()).containsOnlyKeys("node1", "node2");
        assertThat(perNode.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(JOBS);

        // Either the nodes got their shares or the demo said in one line why not; never a failure.
        boolean shared = r.out().contains("guest CPU shares (herd policy set guest-cpus): node1 1.0, node2 0.6 cores");
        assertThat(shared || r.out().contains("guest CPU shares: not available here")).as(r.out()).isTrue();

        Matcher root = ROOT.matcher(r.out());
        assertThat(root.find()).isTrue();
        Path demoRoot = Path.of(root.group(1));
        assertThat(demoRoot.startsWith(tmp)).as("%s under %s", demoRoot, tmp).isTrue();
        assertThat(demoRoot).doesNotExist();
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).as("left in the temporary directory").isEmpty();
        }
        List<String> daemons = ProcessHandle.allProcesses().filter(ProcessHandle::isAlive)
                .map(h -> String.join(" ", h.info().arguments().orElse(new String[0])))
                .filter(args -> args.contains(demoRoot.toString())).toList();
        assertThat(daemons).as("processes of the demo still running").isEmpty();
        List<Path> cgroupsAfter = demoCgroups();
        cgroupsAfter.removeAll(cgroupsBefore);
        assertThat(cgroupsAfter).as("cgroups the demo left behind").isEmpty();
    }

    /** Every herd-node1..N cgroup directory, v1 (any controller, a few levels down) or v2. */
    private static List<Path> demoCgroups() throws IOException {
        Path fs = Path.of("/sys/fs/cgroup");
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(fs)) return found;
        try (Stream<Path> s = Files.walk(fs, 4)) {
            s.filter(Files::isDirectory).filter(d -> d.getFileName() != null
                    && d.getFileName().toString().matches("herd-node[1-" + NODES + "]-[0-9a-f]{6}")).forEach(found::add);
        } catch (java.io.UncheckedIOException e) {
            // a cgroup removed while walking: the listing is still good enough for before/after
        }
        return found;
    }
}
