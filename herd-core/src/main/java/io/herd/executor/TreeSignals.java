package io.herd.executor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGSTOP and SIGCONT for a whole process tree: the freezer of a job without
 * a cgroup freezer. The JDK cannot send either signal, so {@code kill(1)} is
 * run with every pid at once.
 */
final class TreeSignals {

    private static final Logger log = LoggerFactory.getLogger(TreeSignals.class);
    /** Rounds of "stop what is new" before giving up on a tree that keeps forking. */
    private static final int MAX_ROUNDS = 50;

    private TreeSignals() {
    }

    /**
     * Stops every process {@code pids} lists, again and again until a round finds no process
     * it has not stopped yet (a child forked while its parent was being stopped is caught by the
     * next round; a stopped parent forks no more). False without {@code kill}.
     */
    static boolean stop(Path kill, Supplier<Set<Long>> pids) {
        if (kill == null) return false;
        Set<Long> stopped = new TreeSet<>();
        for (int round = 0; round < MAX_ROUNDS; round++) {
            Set<Long> now = pids.get();
            now.removeAll(stopped);
            if (now.isEmpty()) {
                awaitStopped(stopped);
                return true;
            }
            send(kill, "STOP", now);
            stopped.addAll(now);
        }
        log.warn("a process tree kept forking while being stopped; {} processes stopped", stopped.size());
        return true;
    }

    /**
     * A signal is delivered when its target next runs: wait (briefly) until every process shows
     * state T, or is gone, so "frozen" means stopped.
     */
    private static void awaitStopped(Set<Long> pids) {
        long deadline = System.nanoTime() + STOP_WAIT_NANOS;
        for (long pid : pids) {
            while (ProcStat.read(pid).map(s -> s.state() != 'T' && s.state() != 't' && s.running()).orElse(false)) {
                if (System.nanoTime() > deadline) return;
                java.util.concurrent.locks.LockSupport.parkNanos(200_000);
            }
        }
    }

    private static final long STOP_WAIT_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(500);

    /** SIGCONT to every pid (those gone are skipped by kill). */
    static void cont(Path kill, Set<Long> pids) {
        if (kill != null && !pids.isEmpty()) send(kill, "CONT", pids);
    }

    private static void send(Path kill, String signal, Set<Long> pids) {
        List<String> cmd = new ArrayList<>(List.of(kill.toString(), "-" + signal, "--"));
        for (long p : pids) cmd.add(Long.toString(p));
        try {
            // ESRCH for a process that exited meanwhile is expected: the others are still signalled.
            new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException e) {
            log.warn("cannot run {}: {}", kill, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
