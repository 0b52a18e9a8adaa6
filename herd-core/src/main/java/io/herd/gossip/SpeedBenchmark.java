package io.herd.gossip;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * The node's calibrated CPU speed, measured once at daemon start and gossiped
 * as {@link LoadVector#speed()}: how much work one core does per second.
 * Placement divides a job's work by it, so what matters is that the same
 * number means the same throughput on every machine.
 *
 * <p>Why it compares across machines: a <em>work unit</em> is a fixed
 * sequence of operations, identical everywhere (no dependence on core count,
 * cache size or JVM flags): 2,048 steps, each an integer mix (xorshift and a
 * 64-bit multiply), a floating-point step (a square root and a multiply-add)
 * and a dependent read-modify-write at a pseudo-random place in a 4 MiB
 * array, which is larger than most L2 caches, so memory latency counts as it
 * does for real jobs. Only the time it takes differs between machines.
 *
 * <p>How it measures: single thread, timed in that thread's CPU time (so cores
 * busy with other work at start make the node look loaded, not slow); the first third of the budget warms the
 * JIT, the rest runs rounds of about 50 ms and keeps the best (the round
 * least disturbed by other processes: the owner's own work must not make a
 * node look permanently slow). The result is units per second divided by
 * {@link #REFERENCE_UNITS_PER_SECOND}, chosen so that a typical 2020s x86
 * server or desktop core scores in the single digits (the machine it was
 * calibrated on, a 2.5 GHz Xeon cloud vCPU, scores about 5). It is a relative scale,
 * like MOSIX's speed figure: a node scoring 6 finishes the same CPU-bound job
 * about twice as fast as one scoring 3.
 */
public final class SpeedBenchmark {

    /**
     * Work units per second that score 1.0. Fixed forever: changing it would
     * make old and new nodes disagree about each other's speed.
     */
    public static final double REFERENCE_UNITS_PER_SECOND = 4_000;

    /** What the daemon spends at start when it is not told otherwise. */
    public static final Duration DEFAULT_BUDGET = Duration.ofMillis(300);

    /** The shortest run that measures compiled code rather than the JIT at work. */
    public static final Duration MIN_BUDGET = Duration.ofMillis(150);

    private static final int STEPS_PER_UNIT = 2048;
    private static final int MEMORY_INTS = 1 << 20; // 4 MiB
    private static final long ROUND_NANOS = 50_000_000L;

    /** Keeps the JIT from proving the work useless. */
    private static volatile long sink;

    private SpeedBenchmark() {
    }

    /** {@link #measure(Duration)} with {@link #DEFAULT_BUDGET}. */
    public static double measure() {
        return measure(DEFAULT_BUDGET);
    }

    /**
     * Runs the benchmark for about {@code budget} and returns this machine's
     * speed per core (see class comment). Budgets below
     * {@link #MIN_BUDGET} are raised to it: in a fresh JVM the JIT needs
     * about 100 ms to compile the work unit, and a shorter run would measure
     * the interpreter.
     */
    public static double measure(Duration budget) {
        long budgetNanos = Math.max(MIN_BUDGET.toNanos(), budget.toNanos());
        int[] memory = new int[MEMORY_INTS];
        for (int i = 0; i < memory.length; i++) memory[i] = i * 0x9E3779B9;

        // Time is this thread's CPU time, not the wall clock: a daemon often starts while
        // other processes (or other daemons on the same box) compete for the cores, and
        // that must show as load, not as a slow CPU. The wall clock only bounds the run.
        LongSupplier clock = cpuClock();
        long wallLimit = System.nanoTime() + 10 * budgetNanos;
        long start = clock.getAsLong();
        long deadline = start + budgetNanos;
        long warmupEnd = start + budgetNanos / 3;
        long acc = 0;
        long seed = 1;
        // Warm-up: enough calls for the JIT to compile unit() before timing it.
        while (clock.getAsLong() < warmupEnd && System.nanoTime() < wallLimit) acc ^= unit(memory, seed++);

        double best = 0;
        long now = clock.getAsLong();
        while (now < deadline && (System.nanoTime() < wallLimit || best == 0)) {
            long roundEnd = Math.min(deadline, now + ROUND_NANOS);
            long roundStart = now;
            long units = 0;
            // Check the clock every 8 units: one unit is tens of microseconds.
            do {
                for (int i = 0; i < 8; i++) acc ^= unit(memory, seed++);
                units += 8;
                now = clock.getAsLong();
            } while (now < roundEnd);
            long elapsed = now - roundStart;
            // A round cut short by the deadline is too noisy to count, unless it is all we have.
            if (elapsed >= ROUND_NANOS / 2 || best == 0) {
                best = Math.max(best, units * 1e9 / elapsed);
            }
        }
        sink = acc;
        return best / REFERENCE_UNITS_PER_SECOND;
    }

    /** The current thread's CPU time in ns where the JVM can read it, else the wall clock. */
    static LongSupplier cpuClock() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        if (mx.isCurrentThreadCpuTimeSupported()) {
            if (!mx.isThreadCpuTimeEnabled()) mx.setThreadCpuTimeEnabled(true);
            return mx::getCurrentThreadCpuTime;
        }
        return System::nanoTime;
    }

    /** One work unit: the same operations on every machine. */
    static long unit(int[] memory, long seed) {
        long x = seed * 0x9E3779B97F4A7C15L | 1;
        double f = 1.0;
        int mask = memory.length - 1;
        int idx = (int) x & mask;
        for (int i = 0; i < STEPS_PER_UNIT; i++) {
            x ^= x << 13;
            x ^= x >>> 7;
            x ^= x << 17;
            x *= 0xBF58476D1CE4E5B9L;
            f = f * 0.999_999 + Math.sqrt((double) (x & 0xFFFF) + 1.0) * 1e-3;
            int v = memory[idx];
            memory[idx] = v + (int) x;
            idx = (v ^ (int) (x >>> 32)) & mask; // the next address depends on this load
        }
        return x ^ Double.doubleToRawLongBits(f) ^ idx;
    }
}
