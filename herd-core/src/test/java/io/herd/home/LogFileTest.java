package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job's log at home: created by its first output, bounded, and never the reason a job stops. */
class LogFileTest {

    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void nothingWrittenLeavesNoFileAndAnEarlierAttemptsLogIsRemovedAtOnce() throws IOException {
        Path file = dir.resolve("j1/stdout");
        Files.createDirectories(file.getParent());
        Files.writeString(file, "attempt 1 said this\n");
        JobManager.LogFile log = new JobManager.LogFile("j1", "stdout", file, 1024);
        assertThat(file).as("the earlier attempt's log is gone when the next starts").doesNotExist();
        log.close();
        assertThat(file).as("an attempt that printed nothing leaves no file").doesNotExist();
    }

    @Test
    void outputPastTheBoundIsDroppedAndTheLogSaysHowMuch() throws IOException {
        Path file = dir.resolve("j2/stdout");
        JobManager.LogFile log = new JobManager.LogFile("j2", "stdout", file, 10);
        log.write(bytes("0123456"));
        log.write(bytes("789abcdef"));
        log.close();
        assertThat(Files.readString(file)).isEqualTo("0123456789\n[herd: stdout passed 10 bytes; the remaining 6 bytes were not kept]\n");
    }

    /**
     * The earlier attempt's log cannot be removed (here it is a directory with something in it):
     * this attempt's output is not kept, nothing there is touched, and writing and closing go on
     * without an error, so the job is not stopped by its log.
     */
    @Test
    void anEarlierLogThatCannotBeRemovedKeepsThisAttemptsOutputOutAndLosesNothing() throws IOException {
        Path file = dir.resolve("j3/stdout");
        Files.createDirectories(file);
        Files.writeString(file.resolve("kept"), "untouched");
        JobManager.LogFile log = new JobManager.LogFile("j3", "stdout", file, 1024);
        log.write(bytes("lost on purpose"));
        log.close();
        assertThat(file).isDirectory();
        assertThat(Files.readString(file.resolve("kept"))).isEqualTo("untouched");
        try (var s = Files.list(file)) {
            assertThat(s).hasSize(1);
        }
    }

    /** The log cannot be created (its directory's place is taken by a file): the writes stop quietly. */
    @Test
    void aLogThatCannotBeWrittenStopsWithoutStoppingTheWriter() throws IOException {
        Path parent = dir.resolve("j4");
        Files.writeString(parent, "a file where the log's directory would go");
        JobManager.LogFile log = new JobManager.LogFile("j4", "stdout", parent.resolve("stdout"), 1024);
        log.write(bytes("first"));
        log.write(bytes("second"));
        log.close();
        assertThat(Files.readString(parent)).isEqualTo("a file where the log's directory would go");
    }
}
