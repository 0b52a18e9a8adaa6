package io.herd.executor;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;

/** Helpers for tests that run real processes. */
final class Jobs {
    static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "LANG", "C");
    private static final AtomicInteger SEQ = new AtomicInteger();

    private Jobs() {}

    static LaunchSpec spec(Path dir, String... argv) {
        return new LaunchSpec("t" + SEQ.incrementAndGet(), List.of(argv), dir, ENV, false, null);
    }

    static LaunchSpec inCgroup(Path dir, String... argv) {
        String id = "t" + SEQ.incrementAndGet() + "-" + ProcessHandle.current().pid();
        return new LaunchSpec(id, List.of(argv), dir, ENV, false, id);
    }

    static LaunchSpec withStdin(LaunchSpec s) {
        return new LaunchSpec(s.jobId(), s.argv(), s.workDir(), s.env(), true, s.cgroupName());
    }

    /** This machine's cgroups under a test parent {@code name}; the calling test is skipped where they are missing or not writable. */
    static Cgroups writableCgroups(String name) {
        Cgroups cgroups = Cgroups.detect(name);
        org.junit.jupiter.api.Assumptions.assumeTrue(cgroups.available(), "no cgroups on this machine: " + cgroups.describe());
        try {
            cgroups.create("probe");
            cgroups.remove("probe");
        } catch (UnsupportedOperationException e) {
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "cgroups are not writable here: " + e.getMessage());
        }
        return cgroups;
    }

    /**
     * A guest's environment with {@code LD_PRELOAD} naming a library that does not exist: the dynamic
     * loader of every process started with it says so on stderr ({@link #preloadComplaints}), so the
     * count tells how many of the guest's chain got the guest's variables. Only its program may.
     */
    static java.util.Map<String, String> envWithMissingPreload() {
        java.util.Map<String, String> env = new java.util.HashMap<>(ENV);
        env.put("LD_PRELOAD", "/nonexistent-herd-test-" + ProcessHandle.current().pid() + ".so");
        return env;
    }

    static int preloadComplaints(String stderr) {
        return stderr.split("nonexistent-herd-test-", -1).length - 1;
    }

    static ExitStatus exit(RunningProcess p) throws Exception {
        return p.onExit().get(20, TimeUnit.SECONDS);
    }

    /** The pid a test job wrote into {@code file}, once it has. */
    static long awaitPid(Path file) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> Files.exists(file) && Files.readString(file).trim().matches("\\d+"));
        try {
            return Long.parseLong(Files.readString(file).trim());
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** Gone, or a zombie nobody reaps (this machine's init does not): either way no longer running. */
    static boolean running(long pid) {
        return ProcStat.isRunning(pid);
    }

    /** Live processes whose command line holds {@code marker} (a test's distinctive sleep length). */
    static List<Long> runningWith(String marker) {
        return ProcessHandle.allProcesses()
                .filter(h -> running(h.pid()))
                .filter(h -> CommandLines.of(h.pid()).contains(marker))
                .map(ProcessHandle::pid)
                .toList();
    }


    /** Keeps everything, for small outputs. */
    static final class Collect implements OutputSink {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();

        @Override public synchronized void stdout(byte[] buf, int off, int len) {
            out.write(buf, off, len);
        }

        @Override public synchronized void stderr(byte[] buf, int off, int len) {
            err.write(buf, off, len);
        }

        synchronized String out() {
            return out.toString(StandardCharsets.UTF_8);
        }

        synchronized String err() {
            return err.toString(StandardCharsets.UTF_8);
        }

        List<String> outLines() {
            return Arrays.asList(out().split("\n"));
        }
    }
}
