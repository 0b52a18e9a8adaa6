package io.herd.cli;

import java.io.PrintStream;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.locks.ReentrantLock;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The {@code herd run --each} progress bar on stderr (only when stderr is a terminal): jobs
 * done/total, rate and ETA, drawn by me.tongfei:progressbar. Job output shares the terminal: while
 * the CLI holds {@code terminal} the bar skips its redraws, so a job's output is never cut by it.
 */
final class ArrayProgress implements AutoCloseable {
    private final ProgressBar bar;
    private final PrintStream err = System.err;
    private boolean closed;

    private ArrayProgress(ProgressBar bar) {
        this.bar = bar;
    }

    static ArrayProgress start(String arrayId, int size, ReentrantLock terminal) {
        PrintStream err = System.err;
        ProgressBarConsumer consumer = new ProgressBarConsumer() {
            @Override
            public int getMaxRenderedLength() {
                try {
                    return Math.max(40, Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80")) - 1);
                } catch (NumberFormatException e) {
                    return 79;
                }
            }

            @Override
            public void accept(String rendered) {
                if (!terminal.tryLock()) return; // a job's output is being written; draw next time
                try {
                    err.print("\r" + rendered);
                    err.flush();
                } finally {
                    terminal.unlock();
                }
            }

            @Override
            public void close() {
                // the CLI prints its summary where the bar was
            }
        };
        ProgressBar bar = new ProgressBarBuilder().setTaskName(arrayId).setInitialMax(size).setStyle(ProgressBarStyle.ASCII)
                .setUnit(" jobs", 1).showSpeed().setSpeedUnit(ChronoUnit.SECONDS).setUpdateIntervalMillis(500)
                .setConsumer(consumer).build();
        return new ArrayProgress(bar);
    }

    /** Clears the bar's line, so what comes next starts at column 0. */
    void wipe() {
        err.print("\r\033[K");
        err.flush();
    }

    void step(int finished) {
        bar.stepTo(finished);
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        bar.close();
        wipe();
    }
}
