package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Arrays (--each), herd logs and herd history on a real 2-node cluster, through the real CLI. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BatchJobsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TestCluster cluster;
    private TestNode home;

    @BeforeAll
    void form() {
        cluster = TestCluster.formed("", "host");
        home = cluster.node("home");
    }

    @AfterAll
    void stop() {
        if (cluster != null) cluster.close();
    }

    private String[] args(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = args[0];
        all[1] = "--data=" + home.data();
        System.arraycopy(args, 1, all, 2, args.length - 1);
        return all;
    }

    private Cli.Result herd(String... args) {
        return Cli.run(args(args));
    }

    /** The CLI as a background process, for commands that wait (logs -f, run --each + Ctrl-C). */
    private Process start(String... args) throws Exception {
        // SIGINT back to its default: a suite started in the background of a shell without job control
        // inherits it ignored, and a JVM never installs its handler for a signal ignored at start.
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=INT",
                ProcessHandle.current().info().command().orElse("java"), "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), "io.herd.cli.Main"));
        cmd.addAll(List.of(args(args)));
        return new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
    }

    /** Collects a stream in the background; read with {@link #text}. */
    private static ByteArrayOutputStream collect(InputStream in) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        Thread t = new Thread(() -> {
            byte[] buf = new byte[8192];
            int n;
            try {
                while ((n = in.read(buf)) > 0) {
                    synchronized (b) {
                        b.write(buf, 0, n);
                    }
                }
            } catch (java.io.IOException ignored) {
                // process ended
            }
        });
        t.setDaemon(true);
        t.start();
        return b;
    }

    private static String text(ByteArrayOutputStream b) {
        synchronized (b) {
            return b.toString(StandardCharsets.UTF_8);
        }
    }

    private List<JsonNode> json(Cli.Result r) throws Exception {
        assertThat(r.exit()).as(r.all()).isZero();
        List<JsonNode> out = new ArrayList<>();
        JSON.readTree(r.out()).forEach(out::add);
        return out;
    }

    @Test
    void everyJobOfAnArrayRunsOnceAndItsOutputIsGrouped() {
        Cli.Result r = herd("run", "--each", "1..200", "--", "sh", "-c", "echo {} {#}; echo end-{}; echo err-{} >&2");
        assertThat(r.exit()).as(r.err()).isZero();
        List<String> lines = r.out().lines().toList();
        assertThat(lines).hasSize(400);
        for (int i = 0; i < lines.size(); i += 2) {
            String item = lines.get(i).split(" ")[0];
            // a job's lines are never split by another job's
            assertThat(lines.get(i)).isEqualTo(item + " " + item);
            assertThat(lines.get(i + 1)).isEqualTo("end-" + item);
        }
        assertThat(lines.stream().filter(l -> !l.startsWith("end-")).map(l -> Integer.parseInt(l.split(" ")[0])).sorted().toList())
                .isEqualTo(IntStream.rangeClosed(1, 200).boxed().toList());
        assertThat(r.err().lines().filter(l -> l.startsWith("err-")).sorted().toList())
                .isEqualTo(IntStream.rangeClosed(1, 200).mapToObj(i -> "err-" + i).sorted().toList());
        assertThat(r.err()).containsPattern("herd: array home\\.\\d+: 200 jobs, 200 done, 0 failed, 0 retried; CPU [0-9.]+s, wall [0-9.]+s, speedup [0-9.]+x");
    }

    @Test
    void theExitStatusCountsTheJobsThatFailed() throws Exception {
        Path items = cluster.root().resolve("items.txt");
        Files.writeString(items, "ok-1\n\nbad-2\nok-3\nbad-4\n\nbad-5\n");
        Cli.Result r = herd("run", "--each", "@" + items, "--", "sh", "-c", "case {} in bad-*) exit 7;; esac; echo {#}:{}");
        assertThat(r.exit()).as(r.all()).isEqualTo(3);
        assertThat(r.out().lines().sorted().toList()).containsExactly("1:ok-1", "3:ok-3");
        assertThat(r.err()).contains("5 jobs, 2 done, 3 failed");

        Cli.Result list = herd("run", "--each", "a,b", "--", "sh", "-c", "exit 1");
        assertThat(list.exit()).as(list.all()).isEqualTo(2);
    }

    @Test
    void badSpecsAreRefusedBeforeAnythingIsSubmitted() throws Exception {
        int before = json(herd("ps", "--all", "--json")).size();
        Path empty = cluster.root().resolve("empty.txt");
        Files.writeString(empty, "\n  \n");
        for (String[] c : new String[][] {{"5..1", "goes down"}, {"1..x", "two integers"}, {"@" + empty, "has no items"},
                {"@" + cluster.root().resolve("missing.txt"), "no such file"}}) {
            for (String cmd : List.of("run", "submit")) {
                Cli.Result r = herd(cmd, "--each", c[0], "--", "echo", "{}");
                assertThat(r.exit()).as(cmd + " " + c[0] + ": " + r.all()).isEqualTo(2);
                assertThat(r.err().lines().toList()).as(r.err()).hasSize(1);
                assertThat(r.err()).startsWith("herd: bad --each '" + c[0] + "': ").contains(c[1]).contains("A..B");
            }
        }
        assertThat(json(herd("ps", "--all", "--json"))).hasSize(before);
    }

    @Test
    void submitPrintsTheArrayAndItsJobsAndPsShowsThem() throws Exception {
        Cli.Result r = herd("submit", "--each", "0..9", "--", "sh", "-c", "exit {}");
        assertThat(r.exit()).as(r.all()).isZero();
        var m = java.util.regex.Pattern.compile("array (home\\.(\\d+)): 10 jobs (home\\.(\\d+))\\.\\.(home\\.(\\d+))\n").matcher(r.out());
        assertThat(m.matches()).as(r.out()).isTrue();
        long array = Long.parseLong(m.group(2));
        assertThat(Long.parseLong(m.group(4))).isEqualTo(array + 1);
        assertThat(Long.parseLong(m.group(6))).isEqualTo(array + 10);
        assertThat(herd("wait", m.group(5)).exit()).isEqualTo(9);
        List<JsonNode> ps = json(herd("ps", "--all", "--json")).stream()
                .filter(j -> m.group(1).equals(j.path("arrayId").asText())).toList();
        assertThat(ps).hasSize(10);
        assertThat(ps.stream().map(j -> j.get("arrayIndex").asInt()).sorted().toList()).isEqualTo(IntStream.range(0, 10).boxed().toList());
        assertThat(herd("ps", "--all").out()).contains(m.group(1) + "#10");
    }

    @Test
    void waitAndCancelTakeAnArrayId() throws Exception {
        Cli.Result r = herd("submit", "--each", "0,3,0,5", "--", "sh", "-c", "exit {}");
        assertThat(r.exit()).as(r.all()).isZero();
        String array = r.out().substring("array ".length(), r.out().indexOf(':'));
        // The array's status is that of its first failed job.
        assertThat(herd("wait", array).exit()).isEqualTo(3);

        Path never = cluster.root().resolve("never-array");
        Cli.Result s = herd("submit", "--each", "1..3", "--", "sh", "-c", "while [ ! -f " + never + " ]; do sleep 0.05; done");
        assertThat(s.exit()).as(s.all()).isZero();
        String waiting = s.out().substring("array ".length(), s.out().indexOf(':'));
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> herd("ps").out().lines()
                .anyMatch(l -> l.contains("running") && l.contains(never.toString())));
        Cli.Result c = herd("cancel", waiting);
        assertThat(c.exit()).as(c.all()).isZero();
        assertThat(c.out()).isEqualTo("cancelled 3 of the 3 jobs of array " + waiting + "\n");
        assertThat(herd("wait", waiting).exit()).isNotZero();
        assertThat(json(herd("ps", "--all", "--json")).stream().filter(j -> waiting.equals(j.path("arrayId").asText()))
                .map(j -> j.get("state").asText())).containsExactly("cancelled", "cancelled", "cancelled");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(ph -> ph.info().commandLine().orElse("").contains(never.toString())));
        assertThat(herd("cancel", waiting).out()).isEqualTo("cancelled 0 of the 3 jobs of array " + waiting + " (the others had already ended)\n");

        Cli.Result unknown = herd("wait", "home.999999");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.err()).contains("no job or array home.999999 on this node");
    }

    @Test
    void logsPrintsAFinishedJobsOutputAndRefusesUnknownIds() {
        String id = herd("submit", "--node", "host", "--", "sh", "-c", "echo to-out; echo to-err >&2; exit 3").out().trim();
        assertThat(herd("wait", id).exit()).isEqualTo(3);
        Cli.Result r = herd("logs", id);
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).isEqualTo("to-out\n");
        assertThat(r.err()).isEqualTo("to-err\n");
        Cli.Result f = herd("logs", "-f", id);
        assertThat(f.exit()).as("logs -f of an ended job exits with its status").isEqualTo(3);
        assertThat(f.out()).isEqualTo("to-out\n");

        Cli.Result unknown = herd("logs", "home.99999");
        assertThat(unknown.exit()).isEqualTo(2);
        assertThat(unknown.out()).isEmpty();
        assertThat(unknown.err().lines().toList()).hasSize(1);
        assertThat(unknown.err()).startsWith("herd: no job home.99999");
    }

    @Test
    void bigLogsComeThroughWhole() throws Exception {
        // 3 MiB in 48 chunks of 64 KiB: every byte arrives, in order.
        String id = herd("submit", "--", "sh", "-c", "seq 1 400000").out().trim();
        assertThat(herd("wait", id).exit()).isZero();
        Cli.Result r = herd("logs", id);
        assertThat(r.exit()).isZero();
        String expected = IntStream.rangeClosed(1, 400000).mapToObj(Integer::toString).collect(Collectors.joining("\n", "", "\n"));
        assertThat(r.out().length()).isEqualTo(expected.length());
        assertThat(r.out()).isEqualTo(expected);
    }

    @Test
    void logsFollowPrintsOutputAsItComesAndExitsWithTheJob() throws Exception {
        Path go = cluster.root().resolve("go-" + System.nanoTime());
        // --local: a guest on another node has a private /tmp and would never see the go file.
        String id = herd("submit", "--local", "--", "sh", "-c",
                "echo first; while [ ! -f " + go + " ]; do sleep 0.05; done; echo second; echo late >&2; exit 4").out().trim();
        Process p = start("logs", "-f", id);
        ByteArrayOutputStream out = collect(p.getInputStream());
        ByteArrayOutputStream err = collect(p.getErrorStream());
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> text(out).equals("first\n"));
        assertThat(p.isAlive()).isTrue();
        Files.writeString(go, "");
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(text(err)).isEqualTo(4);
        assertThat(text(out)).isEqualTo("first\nsecond\n");
        assertThat(text(err)).isEqualTo("late\n");
    }

    @Test
    void ctrlCCancelsTheUnfinishedJobsOfTheArray() throws Exception {
        Path never = cluster.root().resolve("never");
        Process p = start("run", "--each", "1..6", "--", "sh", "-c", "while [ ! -f " + never + " ]; do sleep 0.05; done");
        ByteArrayOutputStream err = collect(p.getErrorStream());
        collect(p.getInputStream());
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> herd("ps").out().lines()
                .anyMatch(l -> l.contains("running") && l.contains(never.toString())));
        new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).as(text(err)).isTrue();
        assertThat(p.exitValue()).as(text(err)).isEqualTo(6);
        assertThat(text(err)).contains("cancelling the unfinished jobs of array").contains("cancelled 6 unfinished jobs")
                .contains("6 jobs, 0 done, 6 failed (6 cancelled)");
        Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.allProcesses()
                .noneMatch(ph -> ph.info().commandLine().orElse("").contains(never.toString())));
    }

    @Test
    void historyListsFinishedJobsNewestFirstWithTimes() throws Exception {
        String a = herd("submit", "--", "sh", "-c", "exit 0").out().trim();
        String b = herd("submit", "--node", "host", "--", "sh", "-c", "exit 2").out().trim();
        assertThat(herd("wait", a, b).exit()).isEqualTo(2);
        List<JsonNode> h = json(herd("history", "--json", "-n", "0"));
        assertThat(h).extracting(j -> j.get("state").asText()).allMatch(s -> List.of("done", "failed", "cancelled").contains(s));
        List<String> ids = h.stream().map(j -> j.get("id").asText()).toList();
        assertThat(ids).contains(a, b);
        assertThat(ids.indexOf(b)).as("newest first").isLessThan(ids.indexOf(a));
        JsonNode jb = h.get(ids.indexOf(b));
        assertThat(jb.get("exitCode").asInt()).isEqualTo(2);
        assertThat(jb.get("node").asText()).isEqualTo("host");
        assertThat(jb.get("user").asText()).isEqualTo(System.getProperty("user.name"));
        assertThat(jb.get("attempts").asInt()).isEqualTo(1);
        assertThat(jb.get("command").asText()).isEqualTo("sh -c exit 2");
        long submitted = jb.get("submittedMs").asLong();
        long started = jb.get("startedMs").asLong();
        long finished = jb.get("finishedMs").asLong();
        assertThat(submitted).isGreaterThan(1_600_000_000_000L).isLessThanOrEqualTo(started);
        assertThat(started).isLessThanOrEqualTo(finished);
        assertThat(finished).isLessThanOrEqualTo(System.currentTimeMillis());
        assertThat(jb.get("wallMs").asLong()).isEqualTo(finished - started);

        assertThat(json(herd("history", "--json", "-n", "1"))).hasSize(1);
        assertThat(json(herd("history", "--json", "--user", "no-such-user"))).isEmpty();
        Cli.Result text = herd("history", "-n", "5");
        assertThat(text.out().lines().findFirst().orElse("")).startsWith("ID").contains("SUBMITTED").contains("WALL").contains("CPU");
        assertThat(text.out()).contains(b);
    }

    @Test
    void anotherUsersLogsAreRefused() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to switch to user nobody");
        assumeTrue(Files.isExecutable(Path.of("/usr/sbin/runuser")) || Files.isExecutable(Path.of("/sbin/runuser")), "needs runuser");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/python3")), "needs python3");
        String id = herd("submit", "--", "echo", "secret").out().trim();
        assertThat(herd("wait", id).exit()).isZero();
        Files.setPosixFilePermissions(cluster.root(), PosixFilePermissions.fromString("rwx--x--x"));
        // The Java CLI's class path is not readable by nobody; speak the protocol directly:
        // ControlRequest{logs(12): LogsRequest{job_id(1): id}}, length-delimited.
        String client = String.join("\n",
                "import socket, sys",
                "jid = sys.argv[2].encode()",
                "inner = bytes([0x0a, len(jid)]) + jid",
                "msg = bytes([0x62, len(inner)]) + inner",
                "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)",
                "s.connect(sys.argv[1])",
                "s.sendall(bytes([len(msg)]) + msg)",
                "data = b''",
                "while True:",
                "    chunk = s.recv(65536)",
                "    if not chunk: break",
                "    data += chunk",
                "sys.stdout.write(data.decode('utf-8', 'replace'))");
        Process p = new ProcessBuilder("runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", client,
                home.data().resolve("herd.sock").toString(), id).redirectErrorStream(true).start();
        String reply = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(reply).contains("job " + id + " belongs to root").contains("only they or an admin").doesNotContain("secret");
    }
}
