package io.herd.owner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The monitor's loop with the test input source and guests that only record what they are told. */
class OwnerMonitorTest {

    @TempDir
    Path dir;

    /** Records each action as "freeze: reason". */
    static final class Recorder implements Guests {
        final List<String> calls = new CopyOnWriteArrayList<>();

        @Override
        public List<String> freezeAll(String reason) {
            calls.add("freeze: " + reason);
            return List.of("j1");
        }

        @Override
        public List<String> thawAll(String reason) {
            calls.add("thaw: " + reason);
            return List.of("j1");
        }

        @Override
        public List<String> evictAll(String reason) {
            calls.add("evict: " + reason);
            return List.of("j1");
        }
    }

    @Test
    void theInputFileCountsOnlyChangesAfterItIsWatched() throws IOException {
        Path f = Files.writeString(dir.resolve("input"), "");
        InputFile in = new InputFile(f);
        assertThat(in.lastInputMillis()).isEqualTo(OwnerInput.NEVER);
        touch(f);
        long seen = in.lastInputMillis();
        assertThat(seen).isNotEqualTo(OwnerInput.NEVER).isLessThanOrEqualTo(OwnerInput.nowMillis());
        assertThat(in.lastInputMillis()).as("the same touch is not seen twice").isEqualTo(seen);
        InputFile missing = new InputFile(dir.resolve("later"));
        assertThat(missing.lastInputMillis()).isEqualTo(OwnerInput.NEVER);
        Files.writeString(dir.resolve("later"), "x");
        assertThat(missing.lastInputMillis()).as("created = input").isNotEqualTo(OwnerInput.NEVER);
    }

    @Test
    void inputFreezesThenTheGraceEndsInEviction() throws IOException {
        Path f = dir.resolve("input");
        Recorder guests = new Recorder();
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMillis(300), Duration.ofSeconds(60), 0),
                List.of(new InputFile(f)), null, null, guests, 5)) {
            m.start();
            assertThat(m.acceptsGuests()).isTrue();
            touch(f);
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.size() >= 2);
            assertThat(guests.calls).containsExactly("freeze: frozen: the owner is back (owner input)",
                    "evict: evicted: owner returned (owner input for longer than the grace of 300ms)");
            assertThat(m.acceptsGuests()).isFalse();
            assertThat(m.state()).isEqualTo("evicted");
        }
    }

    @Test
    void inputFreezesThenQuietThaws() throws IOException {
        Path f = dir.resolve("input");
        Recorder guests = new Recorder();
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofMillis(200), 0),
                List.of(new InputFile(f)), null, null, guests, 5)) {
            m.start();
            touch(f);
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.size() >= 2);
            assertThat(guests.calls).containsExactly("freeze: frozen: the owner is back (owner input)",
                    "thaw: thawed: the owner is idle again");
            assertThat(m.acceptsGuests()).isTrue();
        }
    }

    @Test
    void machineIdleTimeCounts() {
        Recorder guests = new Recorder();
        io.herd.gossip.FixedOwnerActivity idle = new io.herd.gossip.FixedOwnerActivity(3600, true);
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofSeconds(30), 0),
                List.of(), idle, null, guests, 5)) {
            m.start();
            idle.set(new io.herd.gossip.OwnerActivity(0, true));
            await().atMost(Duration.ofSeconds(10)).until(() -> !guests.calls.isEmpty());
            assertThat(guests.calls).containsExactly("freeze: frozen: the owner is back (owner input)");
        }
    }

    private static void touch(Path f) throws IOException {
        if (!Files.exists(f)) Files.writeString(f, "");
        // A later time than any the file had, whatever the file system's timestamp granularity.
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(1)));
    }
}
