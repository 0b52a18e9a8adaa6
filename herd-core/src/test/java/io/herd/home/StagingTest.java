package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Input staging and output return on a real 2-node cluster, as a user would use them from a project directory. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StagingTest {

    private TestCluster cluster;
    private TestNode home;
    private int dirs;

    @BeforeAll
    void form() {
        cluster = TestCluster.formed("", "host");
        home = cluster.node("home");
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    private Path project() throws Exception {
        return Files.createDirectories(cluster.root().resolve("project-" + (++dirs)));
    }

    private Cli.Result herd(Path dir, String cmd, String... args) {
        String[] all = new String[args.length + 2];
        all[0] = cmd;
        all[1] = "--data=" + home.data();
        System.arraycopy(args, 0, all, 2, args.length);
        return Cli.runIn(dir, all);
    }

    @Test
    void filesNamedByArgumentsGoAlongAndNewFilesComeBack() throws Exception {
        Path dir = project();
        Files.writeString(dir.resolve("in.txt"), "hello herd\n");
        Cli.Result r = herd(dir, "run", "--node", "host", "--", "sh", "-c", "tr a-z A-Z < \"$1\" > out.txt; pwd", "sh", "in.txt");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(Files.readString(dir.resolve("out.txt"))).isEqualTo("HELLO HERD\n");
        assertThat(r.out().trim()).as("the job runs in a sandbox on the host, not in the user's directory").isNotEqualTo(dir.toString());
        assertThat(Files.readString(dir.resolve("in.txt"))).isEqualTo("hello herd\n");
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("in.txt", "out.txt");
        }
    }

    @Test
    void aScriptInTheProjectIsStagedWithItsModeAndSubdirectoriesComeBack() throws Exception {
        Path dir = project();
        Path script = dir.resolve("make-report.sh");
        Files.writeString(script, "#!/bin/sh\nmkdir -p out/deep\necho report > out/deep/report.txt\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Cli.Result r = herd(dir, "run", "--node", "host", "--", "./make-report.sh");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(Files.readString(dir.resolve("out/deep/report.txt"))).isEqualTo("report\n");
    }

    @Test
    void inputGlobsStageMatchesAndOutputGlobsBringBackUnchangedFiles() throws Exception {
        Path dir = project();
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data/a.csv"), "1\n2\n");
        Files.writeString(dir.resolve("data/b.csv"), "3\n");
        Files.writeString(dir.resolve("data/skip.txt"), "not staged\n");
        Cli.Result r = herd(dir, "run", "--node", "host", "-i", "data/*.csv", "--",
                "sh", "-c", "cat data/*.csv | wc -l > n.txt; ls data");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out()).isEqualTo("a.csv\nb.csv\n");
        assertThat(Files.readString(dir.resolve("n.txt")).trim()).isEqualTo("3");
    }

    @Test
    void anArrayStagesEachItemsOwnFileAndEveryOutputComesBackOnce() throws Exception {
        Path dir = project();
        for (int i = 1; i <= 40; i++) Files.writeString(dir.resolve("in" + i + ".txt"), "item " + i + "\n");
        Cli.Result r = herd(dir, "run", "--each", "1..40", "-i", "in{}.txt", "--",
                "sh", "-c", "tr a-z A-Z < in$0.txt > out$0.txt; ls", "{}");
        assertThat(r.exit()).as(r.all()).isZero();
        for (int i = 1; i <= 40; i++) {
            assertThat(Files.readString(dir.resolve("out" + i + ".txt"))).isEqualTo("ITEM " + i + "\n");
            // Each job was given its own input only.
            assertThat(r.out()).contains("in" + i + ".txt\nout" + i + ".txt\n");
        }
        try (var files = Files.list(dir)) {
            assertThat(files.count()).as("40 inputs, 40 outputs, nothing else").isEqualTo(80);
        }
    }

    @Test
    void anInputSharedByManyJobsIsSentToTheirHostOnce() throws Exception {
        Path dir = project();
        byte[] scene = new byte[3 << 20];
        new java.util.Random(7).nextBytes(scene);
        Files.write(dir.resolve("scene.bin"), scene);
        Path hostData = cluster.node("host").data();
        long before = io.herd.cli.TestAccess.status(hostData).getStagedBytesReceived();
        Cli.Result r = herd(dir, "run", "--each", "1..12", "--node", "host", "--",
                "sh", "-c", "wc -c < \"$1\" > n$0.txt", "{}", "scene.bin");
        assertThat(r.exit()).as(r.all()).isZero();
        for (int i = 1; i <= 12; i++) assertThat(Files.readString(dir.resolve("n" + i + ".txt")).trim()).isEqualTo(Integer.toString(scene.length));
        long sent = io.herd.cli.TestAccess.status(hostData).getStagedBytesReceived() - before;
        assertThat(sent).as("12 jobs, one 3 MiB input: sent to the host once").isBetween((long) scene.length, scene.length + (512L << 10));
        Cli.Result status = Cli.run("status", "--data=" + hostData);
        assertThat(status.out()).contains("received as a host");
    }

    @Test
    void aGlobMatchingNothingIsRefusedBeforeAnythingIsSubmitted() throws Exception {
        Path dir = project();
        Cli.Result r = herd(dir, "submit", "-i", "*.nothing", "--", "true");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("-i '*.nothing': no file matches");
        Cli.Result up = herd(dir, "run", "-i", "../escape", "--", "true");
        assertThat(up.exit()).isEqualTo(2);
        assertThat(up.err()).contains("without '..'");
    }

    @Test
    void aLinkPointingOutOfTheProjectIsRefusedWithItsName() throws Exception {
        Path dir = project();
        Path secret = Files.writeString(cluster.root().resolve("secret.txt"), "outside\n");
        Files.createSymbolicLink(dir.resolve("link.txt"), secret);
        Cli.Result r = herd(dir, "run", "--", "cat", "link.txt");
        assertThat(r.exit()).as(r.all()).isEqualTo(2);
        assertThat(r.err()).contains("link.txt").contains("outside the job's directory");
    }

    @Test
    void anOutputThatWouldOverwriteADifferentFileFailsTheJobAndKeepsTheFile() throws Exception {
        Path dir = project();
        Files.writeString(dir.resolve("result.txt"), "precious\n");
        Cli.Result r = herd(dir, "run", "--node", "host", "--", "sh", "-c", "echo new > result.txt; echo other > other.txt");
        assertThat(r.exit()).as(r.all()).isNotZero();
        assertThat(r.err()).contains("output collision").contains("result.txt");
        assertThat(Files.readString(dir.resolve("result.txt"))).isEqualTo("precious\n");
        assertThat(dir.resolve("other.txt")).as("under FAIL no output of a colliding job is written").doesNotExist();
    }

    @Test
    void onCollisionRenameKeepsBothAndOverwriteReplaces() throws Exception {
        Path dir = project();
        Files.writeString(dir.resolve("result.txt"), "precious\n");
        Cli.Result rename = herd(dir, "run", "--on-collision", "rename", "--", "sh", "-c", "echo new > result.txt");
        assertThat(rename.exit()).as(rename.all()).isZero();
        assertThat(Files.readString(dir.resolve("result.txt"))).isEqualTo("precious\n");
        assertThat(Files.readString(dir.resolve("result.txt.1"))).isEqualTo("new\n");
        Cli.Result over = herd(dir, "run", "--on-collision", "overwrite", "--", "sh", "-c", "echo newer > result.txt");
        assertThat(over.exit()).as(over.all()).isZero();
        assertThat(Files.readString(dir.resolve("result.txt"))).isEqualTo("newer\n");
        Cli.Result bad = herd(dir, "run", "--on-collision", "merge", "--", "true");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("--on-collision must be fail, rename or overwrite");
    }

    @Test
    void aJobMayRewriteItsOwnInput() throws Exception {
        Path dir = project();
        Files.writeString(dir.resolve("counter"), "1\n");
        Cli.Result r = herd(dir, "run", "--node", "host", "--", "sh", "-c", "echo 2 > counter.new && mv counter.new counter", "sh", "counter");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(Files.readString(dir.resolve("counter"))).isEqualTo("2\n");
    }

    @Test
    void sharedRunsInTheSameDirectoryAndStagesNothing() throws Exception {
        Path dir = project();
        // On another node the job is a guest: it writes the shared directory as the guests' account.
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Cli.Result r = herd(dir, "run", "--shared", "--node", "host", "--", "sh", "-c", "pwd; echo here > made.txt");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(r.out().trim()).isEqualTo(dir.toString());
        assertThat(Files.readString(dir.resolve("made.txt"))).isEqualTo("here\n");
        Cli.Result mixed = herd(dir, "run", "--shared", "-o", "x", "--", "true");
        assertThat(mixed.exit()).isEqualTo(2);
        assertThat(mixed.err()).contains("--shared");
    }

    @Test
    void theSandboxIsRemovedAfterTheJob() throws Exception {
        Path dir = project();
        Cli.Result r = herd(dir, "run", "--node", "host", "--", "sh", "-c", "pwd; echo x > left.txt");
        assertThat(r.exit()).as(r.all()).isZero();
        Path sandbox = Path.of(r.out().trim());
        // A fresh sandbox is removed; a kept one (a root daemon's, see WarmSandboxes) is emptied for the next job.
        if (Files.exists(sandbox)) {
            assertThat(sandbox.getFileName().toString()).startsWith("warm-");
            assertThat(sandbox).isEmptyDirectory();
        }
    }

    @Test
    void aHostWhoseDiskIsFullCannotTakeTheJobAndTheJobSaysWhy() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "mounting a small file system for the host's sandboxes needs root");
        Path dir = project();
        byte[] sixMegabytes = new byte[6 << 20];
        new java.util.Random(1).nextBytes(sixMegabytes);
        Files.write(dir.resolve("big.bin"), sixMegabytes);
        Path sandboxes = cluster.node("host").data().resolve("sandboxes");
        // Room enough to take jobs (over the 4 MiB floor), not for this job's input: staging fails, the job is held.
        mount(sandboxes, "5m");
        try {
            Cli.Result r = herd(dir, "run", "--node", "host", "--max-retries", "1", "--", "wc", "-c", "big.bin");
            assertThat(r.exit()).as(r.all()).isEqualTo(125);
            assertThat(r.err()).contains("held").contains("cannot stage the job's inputs on host").contains("No space left on device");
            Cli.Result ps = herd(dir, "ps", "--json");
            assertThat(ps.out()).contains("held").contains("No space left on device");
        } finally {
            umount(sandboxes);
        }
        // Under the floor: the host takes no job at all; the job waits, saying why, and runs once there is room.
        mount(sandboxes, "1m");
        String id;
        try {
            Cli.Result s = herd(dir, "submit", "--node", "host", "--", "wc", "-c", "big.bin");
            assertThat(s.exit()).as(s.all()).isZero();
            id = s.out().trim();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
                    .until(() -> herd(dir, "ps", "--json").out().contains("its disk is full"));
            assertThat(herd(dir, "ps", "--json").out()).contains("refused by host: its disk is full");
        } finally {
            umount(sandboxes);
        }
        assertThat(herd(dir, "wait", id).exit()).isZero();
        assertThat(herd(dir, "logs", id).out()).isEqualTo((6 << 20) + " big.bin\n");
    }

    private static void mount(Path at, String size) throws Exception {
        Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=" + size, "herd-test-full", at.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assumptions.assumeTrue(p.waitFor() == 0, "cannot mount a tmpfs here: " + out);
    }

    private static void umount(Path at) throws Exception {
        Process p = new ProcessBuilder("umount", at.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as("umount %s: %s", at, out).isZero();
    }
}
