package io.herd.cli;

import io.herd.api.proto.ArrayJobEnded;
import io.herd.api.proto.ArraySubmitted;
import io.herd.api.proto.ClientInput;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.SubmitArrayRequest;
import io.herd.node.DataDir;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code herd submit|run --each}: the whole array in one request. {@code run} then prints each job's
 * output as the job ends, grouped like GNU parallel's {@code --group} (its stdout, then its stderr,
 * never mixed with another job's), shows a progress bar when stderr is a terminal, and ends with a
 * summary line on stderr. Its exit status is GNU parallel's: 0 if every job exited 0, else the
 * number of jobs that did not (failed, exited non-zero, cancelled, held), at most 101.
 *
 * <p>Speedup over one core = the sum of the jobs' run times (start to end of the attempt that
 * finished each one) ÷ the wall time of the whole array (from submission to the last job's end as
 * seen here). It is how many cores' worth of work the pool did at once on average; CPU time is
 * reported beside it, as a job may wait on I/O while it runs.
 */
final class ArrayRun {
    static final int MAX_EXIT = 101;

    private ArrayRun() {}

    private static SubmitArrayRequest request(JobOptions job, boolean attach) {
        List<String> items = job.items();
        return SubmitArrayRequest.newBuilder().setTemplate(job.spec(false)).addAllItems(items).setAttach(attach).build();
    }

    /** {@code herd submit --each}: prints the array id and its job ids at once. */
    static int submit(DataDir dir, JobOptions job) throws IOException {
        SubmitArrayRequest req = request(job, false);
        ArraySubmitted a = Control.call(dir, ControlRequest.newBuilder().setSubmitArray(req).build()).getArraySubmitted();
        System.out.println("array " + a.getArrayId() + ": " + a.getJobIdsCount() + " job" + (a.getJobIdsCount() == 1 ? "" : "s")
                + " " + range(a.getJobIdsList()));
        return 0;
    }

    static String range(List<String> ids) {
        return ids.size() == 1 ? ids.get(0) : ids.get(0) + ".." + ids.get(ids.size() - 1);
    }

    /** {@code herd run --each}: waits for every job; see the class comment for output and exit status. */
    static int run(DataDir dir, JobOptions job) throws IOException {
        return run(dir, job, stderrIsTerminal(), false).exit();
    }

    /**
     * What a finished {@code run --each} saw: the counts of its summary line, and how many of the
     * array's jobs ended on each host (by node name, in the order they first ended there).
     */
    record Outcome(String arrayId, int size, int ok, int cancelled, Map<String, Integer> hosts, long runMs, long cpuMs,
                   long wallMs) {
        int bad() {
            return size - ok;
        }

        int exit() {
            return Math.min(bad(), MAX_EXIT);
        }

        double speedup() {
            return runMs / (double) Math.max(1, wallMs);
        }
    }

    /**
     * As {@link #run(DataDir, JobOptions)}, with the caller choosing whether to draw the progress
     * bar (still only on a terminal) and what a second Ctrl-C does: stop at once ({@code
     * Runtime.halt}) or, with {@code exitOnSecondSignal}, {@code System.exit} so the caller's
     * shutdown hooks run (the demo removes its cluster in one). The signal handlers are put back
     * as they were when the array is done.
     */
    static Outcome run(DataDir dir, JobOptions job, boolean showBar, boolean exitOnSecondSignal) throws IOException {
        SubmitArrayRequest req = request(job, true);
        long t0 = System.nanoTime();
        List<Object[]> previous = new java.util.ArrayList<>();
        try (ControlStream s = ControlStream.open(dir, ControlRequest.newBuilder().setSubmitArray(req).build())) {
            // Handlers first: a Ctrl-C that comes before the reply still cancels (the daemon reads it after submitting).
            AtomicReference<String> arrayId = new AtomicReference<>("the array");
            AtomicReference<ArrayProgress> progress = new AtomicReference<>();
            previous.addAll(cancelOnSignals(s, arrayId, progress, exitOnSecondSignal));
            ArraySubmitted a = s.next().getArraySubmitted();
            arrayId.set("array " + a.getArrayId());
            int size = a.getJobIdsCount();
            ReentrantLock terminal = new ReentrantLock();
            ArrayProgress bar = showBar && stderrIsTerminal() ? ArrayProgress.start(a.getArrayId(), size, terminal) : null;
            progress.set(bar);
            int finished = 0;
            int ok = 0;
            int cancelled = 0;
            int retried = 0;
            long runMs = 0;
            long cpuMs = 0;
            Map<String, Integer> hosts = new LinkedHashMap<>();
            try {
                while (true) {
                    ControlReply r = s.next();
                    switch (r.getKindCase()) {
                        case OUTPUT -> {
                            hold(terminal, bar);
                            Output.write(r.getOutput());
                        }
                        case ARRAY_JOB -> {
                            hold(terminal, bar);
                            ArrayJobEnded e = r.getArrayJob();
                            finished++;
                            runMs += e.getRunMillis();
                            cpuMs += e.getCpuMillis();
                            if (e.getAttempts() - e.getEvictions() > 1) retried++;   // moves are not retries
                            if (!e.getExit().getHost().isEmpty()) hosts.merge(e.getExit().getHost(), 1, Integer::sum);
                            String state = e.getExit().getState();
                            if (state.equals("done") && e.getExit().getCode() == 0) ok++;
                            if (state.equals("cancelled")) cancelled++;
                            if (!state.equals("done") && !state.equals("cancelled")) {
                                System.err.println("herd: job " + e.getJobId() + " (item " + e.getItem() + ") " + state
                                        + (e.getExit().getReason().isEmpty() ? "" : ": " + e.getExit().getReason()));
                            }
                            if (bar != null) bar.step(finished);
                            release(terminal);
                        }
                        case ACK -> {
                            hold(terminal, bar);
                            System.err.println("herd: " + r.getAck().getMessage());
                            release(terminal);
                        }
                        case ARRAY_DONE -> {
                            release(terminal);
                            if (bar != null) bar.close();
                            long wallMs = Math.max(1, (System.nanoTime() - t0) / 1_000_000);
                            int bad = size - ok;
                            System.err.println(summary(a.getArrayId(), size, ok, bad, cancelled, retried, cpuMs, runMs, wallMs));
                            return new Outcome(a.getArrayId(), size, ok, cancelled, hosts, runMs, cpuMs, wallMs);
                        }
                        default -> { }
                    }
                }
            } finally {
                if (terminal.isHeldByCurrentThread()) terminal.unlock();
                if (bar != null) bar.close();
            }
        } finally {
            restoreSignals(previous);
        }
    }

    /** Takes the terminal for one job's output: the bar is wiped and not redrawn until {@link #release}. */
    private static void hold(ReentrantLock terminal, ArrayProgress bar) {
        if (terminal.isHeldByCurrentThread()) return;
        terminal.lock();
        if (bar != null) bar.wipe();
    }

    private static void release(ReentrantLock terminal) {
        while (terminal.isHeldByCurrentThread()) terminal.unlock();
    }

    static String summary(String arrayId, int size, int ok, int bad, int cancelled, int retried, long cpuMs, long runMs, long wallMs) {
        return String.format(Locale.ROOT, "herd: array %s: %d job%s, %d done, %d failed%s, %d retried; CPU %s, wall %s, "
                        + "speedup %.1fx over one core (sum of run times / wall time)",
                arrayId, size, size == 1 ? "" : "s", ok, bad, cancelled > 0 ? " (" + cancelled + " cancelled)" : "", retried,
                seconds(cpuMs), seconds(wallMs), runMs / (double) wallMs);
    }

    static String seconds(long ms) {
        if (ms < 60_000) return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
        return io.herd.cli.view.Units.duration(ms / 1000.0);
    }

    /**
     * Ctrl-C (or SIGTERM, SIGHUP) cancels the array's unfinished jobs; a second one stops waiting at once.
     * Returns the handlers it replaced, as {signal, handler} pairs, for {@link #restoreSignals}.
     */
    @SuppressWarnings("restriction")
    private static List<Object[]> cancelOnSignals(ControlStream s, AtomicReference<String> what,
                                                  AtomicReference<ArrayProgress> progress, boolean exitOnSecond) {
        AtomicInteger count = new AtomicInteger();
        List<Object[]> previous = new java.util.ArrayList<>();
        for (String[] sig : new String[][] {{"INT", "2"}, {"TERM", "15"}, {"HUP", "1"}}) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(sig[0]);
                sun.misc.SignalHandler old = sun.misc.Signal.handle(signal, x -> {
                    if (count.incrementAndGet() > 1) {
                        System.err.println("\nherd: stopped waiting; the jobs of " + what.get() + " that were not cancelled go on");
                        if (exitOnSecond) System.exit(128 + Integer.parseInt(sig[1]));
                        Runtime.getRuntime().halt(128 + Integer.parseInt(sig[1]));
                    }
                    ArrayProgress bar = progress.get();
                    if (bar != null) bar.wipe();
                    System.err.println("herd: cancelling the unfinished jobs of " + what.get() + " (again to stop waiting)");
                    s.send(ClientInput.newBuilder().setSignal(Integer.parseInt(sig[1])).build());
                });
                previous.add(new Object[] {signal, old});
            } catch (IllegalArgumentException ignored) {
                // signal not available here
            }
        }
        return previous;
    }

    @SuppressWarnings("restriction")
    private static void restoreSignals(List<Object[]> previous) {
        for (Object[] p : previous) {
            try {
                sun.misc.Signal.handle((sun.misc.Signal) p[0], (sun.misc.SignalHandler) p[1]);
            } catch (IllegalArgumentException ignored) {
                // as when it was installed
            }
        }
    }

    /** Linux: fd 2 is a terminal when it links to a tty or pseudo-terminal device. */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
