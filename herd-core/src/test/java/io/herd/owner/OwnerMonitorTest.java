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
    static class Recorder implements Guests {
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
    void aPolledSourceIsReadSlowlyWithNoGuestToFreezeAndFastAgainOnceOneRuns() {
        java.util.concurrent.atomic.AtomicLong input = new java.util.concurrent.atomic.AtomicLong(OwnerInput.NEVER);
        OwnerInput polled = input::get;   // notifies() false: must be polled
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
        Recorder guests = new Recorder() {
            @Override
            public boolean any() {
                return running.get();
            }
        };
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofMinutes(10), 0),
                List.of(polled), null, null, guests, 10)) {
            assertThat(m.nextDelayMillis()).as("no guests").isEqualTo(OwnerMonitor.IDLE_POLL_MILLIS);
            running.set(true);
            assertThat(m.nextDelayMillis()).as("a guest runs").isEqualTo(10);
            running.set(false);
            // The owner came back with no guest running: polled fast until the owner watch lends again.
            m.start();
            input.set(OwnerInput.nowMillis());
            await().atMost(Duration.ofSeconds(10)).until(() -> m.state().equals("frozen"));
            assertThat(m.nextDelayMillis()).as("the owner holds the node").isEqualTo(10);
        }
    }

    @Test
    void aSourceThatNotifiesIsNeverPolledFastAndItsInputFreezesAtOnce() throws IOException {
        Path f = dir.resolve("input");
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        Recorder guests = new Recorder() {
            @Override
            public boolean any() {
                return running.get();
            }
        };
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofMinutes(10), 0),
                List.of(new InputFile(f)), null, null, guests, 10)) {
            assertThat(m.nextDelayMillis()).as("a guest runs, the input is watched").isEqualTo(OwnerMonitor.IDLE_POLL_MILLIS);
        }
        // Polled once a minute: only the source's own call can freeze within the wait below.
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofMinutes(10), 0),
                List.of(new InputFile(f)), null, null, guests, 60_000)) {
            m.start();
            touch(f);
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.size() >= 1);
            assertThat(guests.calls).containsExactly("freeze: frozen: the owner is back (owner input)");
            assertThat(m.state()).isEqualTo("frozen");
        }
    }

    @Test
    void theInputFileIsWatchedWhereItsDirectoryExistsAndPolledWhereNot() throws IOException {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        Path f = dir.resolve("input");
        InputFile watched = new InputFile(f);
        InputFile unwatched = new InputFile(dir.resolve("not-yet").resolve("input"));
        try {
            watched.onInput(calls::incrementAndGet);
            assertThat(watched.notifies()).isTrue();
            touch(f);   // created
            await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() >= 1);
            assertThat(watched.lastInputMillis()).isNotEqualTo(OwnerInput.NEVER);
            Files.writeString(dir.resolve("other"), "x");   // another file of the directory is no input
            touch(f);
            await().atMost(Duration.ofSeconds(10)).until(() -> calls.get() >= 2);

            assertThat(unwatched.notifies()).as("no directory to watch").isFalse();
            Files.createDirectories(dir.resolve("not-yet"));
            touch(dir.resolve("not-yet").resolve("input"));
            assertThat(unwatched.lastInputMillis()).as("read when polled").isNotEqualTo(OwnerInput.NEVER);
        } finally {
            watched.close();
            unwatched.close();
        }
        assertThat(watched.notifies()).as("closed").isFalse();
    }

    @Test
    void anInputFileWhoseDirectoryGoesAwayIsPolledFromThen() throws IOException {
        Path sub = Files.createDirectories(dir.resolve("owner"));
        InputFile in = new InputFile(sub.resolve("input"));
        try {
            assertThat(in.notifies()).isTrue();
            Files.delete(sub);
            await().atMost(Duration.ofSeconds(10)).until(() -> !in.notifies());
            Files.createDirectories(sub);
            touch(sub.resolve("input"));
            assertThat(in.lastInputMillis()).as("read when polled").isNotEqualTo(OwnerInput.NEVER);
        } finally {
            in.close();
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

    /** A fake /proc: PSI files and meminfo a test rewrites. */
    private Path fakeProc(long memAvailableKb) throws IOException {
        Path proc = Files.createDirectories(dir.resolve("proc/pressure"));
        Files.writeString(proc.resolve("io"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        Files.writeString(proc.resolve("memory"), "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
        meminfo(memAvailableKb);
        return proc.getParent();
    }

    private void meminfo(long memAvailableKb) throws IOException {
        Files.writeString(dir.resolve("proc/meminfo"), "MemTotal:       16000000 kB\nMemFree:         1000 kB\nMemAvailable:   "
                + memAvailableKb + " kB\n");
    }

    @Test
    void slowOwnerWritesThrottleThenFreezeAndTheOwnersFreezeOutlastsTheBackoff() throws IOException {
        Path input = dir.resolve("input");
        Recorder guests = new Recorder();
        List<Double> factors = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Double> latency = new java.util.concurrent.atomic.AtomicReference<>(3.0);
        Path proc = fakeProc(12_000_000);
        // A kernel without pressure stall information: the probe runs every round while guests run.
        Files.delete(proc.resolve("pressure/io"));
        Pressure pressure = new Pressure(proc);
        assertThat(pressure.hasPsi()).isFalse();
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofMillis(300), 0),
                List.of(new InputFile(input)), null, null, guests, 5)) {
            m.enableBackoff(() -> new Backoff.Settings(25, 4L << 30, 0.1, 150, 60_000, 0), pressure, latency::get, () -> true,
                    factors::add);
            m.backoffMillis = 20;
            m.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> m.backoffState().equals("normal"));
            assertThat(guests.calls).isEmpty();
            latency.set(106.0);
            await().atMost(Duration.ofSeconds(10)).until(() -> !guests.calls.isEmpty());
            assertThat(factors).containsExactly(0.25, 1.0 / 16);
            assertThat(guests.calls).containsExactly(
                    "freeze: frozen: the owner's write+fsync took 106.0 ms (over 25 ms)");
            await().atMost(Duration.ofSeconds(5)).until(() -> !m.acceptsGuests());
            assertThat(m.whyNoGuests()).isEqualTo("guests frozen (io)").hasSizeLessThanOrEqualTo(io.herd.gossip.GuestAccess.MAX_REASON_CHARS);

            // The owner comes back meanwhile: the guests are frozen already, and stay so when the disk calms down.
            touch(input);
            latency.set(3.0);
            await().atMost(Duration.ofSeconds(10)).until(() -> m.backoffState().equals("normal"));
            assertThat(factors).containsExactly(0.25, 1.0 / 16, 1.0 / 16, 0.25, 1.0);
            // The owner goes quiet: now the guests thaw, once.
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.size() >= 2);
            assertThat(guests.calls).containsExactly("freeze: frozen: the owner's write+fsync took 106.0 ms (over 25 ms)",
                    "thaw: thawed: the owner is idle again");
            await().atMost(Duration.ofSeconds(5)).until(m::acceptsGuests);
        }
    }

    @Test
    void memoryRunningShortFreezesAndStayingShortEvicts() throws IOException {
        Recorder guests = new Recorder();
        Pressure pressure = new Pressure(fakeProc(12_000_000));
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofSeconds(30), 0),
                List.of(), null, null, guests, 5)) {
            m.enableBackoff(() -> new Backoff.Settings(25, 4L << 30, 0.1, 150, 300, 0), pressure, () -> Double.NaN, () -> true,
                    f -> { });
            m.backoffMillis = 20;
            m.start();
            await().atMost(Duration.ofSeconds(5)).until(() -> m.backoffState().equals("normal"));
            meminfo(1_000_000);   // under half the 4 GiB reserve
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.size() >= 2);
            assertThat(guests.calls.get(0)).startsWith("freeze: frozen: memory short: 976 MiB available, the owner's reserve is 4096 MiB");
            assertThat(m.whyNoGuests()).isIn("guests frozen (memory)", "the owner is back").hasSizeLessThanOrEqualTo(io.herd.gossip.GuestAccess.MAX_REASON_CHARS);
            assertThat(guests.calls.get(1)).startsWith("evict: evicted: memory still short after 0 s");
        }
    }

    @Test
    void guestsTakingMemoryFastHaveTheirCpuCutWithinAFewReadingsAndTheStateSaysSo() throws IOException {
        Recorder guests = new Recorder();
        Pressure pressure = new Pressure(fakeProc(12_000_000));
        java.util.concurrent.atomic.AtomicLong anon = new java.util.concurrent.atomic.AtomicLong();
        List<Double> cpu = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofSeconds(30), 0),
                List.of(), null, null, guests, 5)) {
            m.enableBackoff(() -> new Backoff.Settings(25, 4L << 30, 0.1, 150, 300, 64L << 20), pressure, () -> Double.NaN,
                    () -> true, f -> { });
            // Each reading sees 1 GiB more: far over 64 MiB/s whatever the interval (the owner's load is unknown: busy).
            m.enableMemRate(() -> anon.addAndGet(1L << 30), cpu::add);
            m.backoffMillis = 20;
            m.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> !cpu.isEmpty());
            assertThat(cpu.get(0)).isLessThan(0.1);
            await().atMost(Duration.ofSeconds(5)).until(() -> m.backoffState().startsWith("cpu 1/"));
            assertThat(guests.calls).as("a cut, not a freeze").isEmpty();
        }
    }

    /** No guest runs: the guests' memory is not read at all (an idle node's back-off asks the kernel nothing for it). */
    @Test
    void theGuestsMemoryIsReadOnlyWhileAGuestRuns() throws IOException {
        Pressure pressure = new Pressure(fakeProc(12_000_000));
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofSeconds(30), 0),
                List.of(), null, null, new Recorder(), 5)) {
            m.enableBackoff(() -> new Backoff.Settings(25, 4L << 30, 0.1, 150, 300, 64L << 20), pressure, () -> Double.NaN,
                    running::get, f -> { });
            m.enableMemRate(() -> {
                reads.incrementAndGet();
                return 0;
            }, f -> { });
            m.backoffRound();   // makes the back-off; not started: the test drives the rounds
            for (int i = 0; i < 5; i++) m.growthRound();
            assertThat(reads.get()).as("no guest runs").isZero();
            running.set(true);
            m.growthRound();
            assertThat(reads.get()).as("a guest runs").isEqualTo(1);
        }
    }

    /**
     * A CPU cut the kernel refuses (a read-only cgroup tree) is logged and the back-off goes on:
     * memory running short still freezes the guests, and when the settings change the thaw that
     * follows the failed CPU reset still happens (the guests are not left frozen for good).
     */
    @Test
    void aCpuFactorThatCannotBeWrittenDoesNotStopTheFreezeOrTheThawAfterIt() throws IOException {
        Recorder guests = new Recorder();
        Pressure pressure = new Pressure(fakeProc(12_000_000));
        java.util.concurrent.atomic.AtomicLong anon = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicInteger tried = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Backoff.Settings> settings = new java.util.concurrent.atomic.AtomicReference<>(
                new Backoff.Settings(25, 4L << 30, 0.1, 150, 60_000, 64L << 20));
        try (OwnerMonitor m = new OwnerMonitor(new OwnerWatch.Settings(Duration.ofMinutes(10), Duration.ofSeconds(30), 0),
                List.of(), null, null, guests, 5)) {
            m.enableBackoff(settings::get, pressure, () -> Double.NaN, () -> true, f -> { });
            m.enableMemRate(() -> anon.addAndGet(1L << 30), f -> {
                tried.incrementAndGet();
                throw new java.io.UncheckedIOException(new IOException("Read-only file system"));
            });
            m.backoffMillis = 20;
            m.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> tried.get() > 0);
            await().atMost(Duration.ofSeconds(5)).until(() -> m.backoffState().startsWith("cpu 1/"));
            meminfo(1_000_000);   // then memory runs short: the freeze must still come
            await().atMost(Duration.ofSeconds(10)).until(() -> !guests.calls.isEmpty());
            assertThat(guests.calls.get(0)).startsWith("freeze: frozen: memory short");
            int before = tried.get();
            settings.set(new Backoff.Settings(25, 4L << 30, 0.1, 150, 60_000, 128L << 20));
            await().atMost(Duration.ofSeconds(10)).until(() -> guests.calls.contains("thaw: thawed: back-off settings changed"));
            assertThat(tried.get()).as("the CPU share's reset was tried, and failed, first").isGreaterThan(before);
        }
    }

    private static void touch(Path f) throws IOException {
        if (!Files.exists(f)) Files.writeString(f, "");
        // A later time than any the file had, whatever the file system's timestamp granularity.
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().plusSeconds(1)));
    }
}
