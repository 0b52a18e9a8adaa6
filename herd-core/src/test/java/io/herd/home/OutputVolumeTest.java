package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.Cli;
import io.herd.testing.TestCluster;
import io.herd.testing.TestCluster.TestNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Big outputs: 100 MB through a job's stdout with the daemons' heaps capped far below it (so
 * memory must stay flat end to end), and the home node's log of it bounded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutputVolumeTest {

    private static final long LOG_CAP = 4L << 20;
    private TestCluster cluster;
    private TestNode home;

    @BeforeAll
    void form() {
        cluster = TestCluster.formed("-Xmx80m -Dherd.maxLogBytes=" + LOG_CAP, "host");
        home = cluster.node("home");
    }

    @AfterAll
    void stop() {
        cluster.close();
    }

    @Test
    void hundredMegabytesThroughStdoutWithEightyMegabyteHeapsAndABoundedLog() throws Exception {
        long size = 100L << 20;
        Path out = cluster.root().resolve("big.out");
        Cli.Result r = Cli.runTo(out, "run", "--data=" + home.data(), "--node", "host", "--shared", "--",
                "head", "-c", Long.toString(size), "/dev/zero");
        assertThat(r.exit()).as(r.all()).isZero();
        assertThat(Files.size(out)).as("every byte reached the user").isEqualTo(size);

        Path log;
        try (Stream<Path> dirs = Files.list(home.data().resolve("jobs"))) {
            log = dirs.map(d -> d.resolve("stdout")).filter(Files::exists).findFirst().orElseThrow();
        }
        String tail = tail(log, 200);
        assertThat(Files.size(log)).isBetween(LOG_CAP, LOG_CAP + 200);
        assertThat(tail).contains("[herd: stdout passed " + LOG_CAP + " bytes; the remaining " + (size - LOG_CAP) + " bytes were not kept]");

        // The bound really applied: the daemons run with the small heap.
        for (TestNode n : cluster.nodes()) {
            String cmdline = Files.readString(Path.of("/proc/" + n.pid().orElseThrow() + "/cmdline")).replace('\0', ' ');
            assertThat(cmdline).contains("-Xmx80m");
        }
        // Both daemons are still serving.
        assertThat(Cli.run("run", "--data=" + home.data(), "--node", "host", "--", "echo", "still here").out()).isEqualTo("still here\n");
    }

    private static String tail(Path file, int n) throws Exception {
        byte[] all;
        try (var ch = java.nio.channels.FileChannel.open(file)) {
            long from = Math.max(0, ch.size() - n);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((int) (ch.size() - from));
            ch.read(b, from);
            all = b.array();
        }
        return new String(all, java.nio.charset.StandardCharsets.UTF_8);
    }
}
