package io.herd.executor;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The signal state a job inherits from the thread that forks it. A program starts with the
 * blocked signals of the thread that forked it and the ignored signals of its process, and
 * HotSpot blocks SIGQUIT in every Java thread: without help, Ctrl-\ would never reach a job.
 * GNU {@code env --default-signal} in the job's chain puts that right, at the cost of one exec
 * per job (on a virtual machine, where the dynamic loader's CPUID probes trap, an exec is most
 * of a short job's cost).
 *
 * <p>Instead, herd's launcher threads unblock SIGQUIT in themselves ({@code pthread_sigmask},
 * through JNA, which herd already has for OSHI). When every launcher thread blocks nothing and
 * the daemon ignores no signal a program could care about ({@link #ignoredMatters}), the chain
 * needs no {@code env} step for signals; otherwise it keeps it.
 */
final class SignalMask {

    private static final Logger log = LoggerFactory.getLogger(SignalMask.class);

    private static final int SIG_UNBLOCK = 1;
    private static final int SIGQUIT = 3;
    /** {@code sizeof(sigset_t)} with glibc on Linux. */
    private static final int SIGSET_BYTES = 128;

    private SignalMask() {
    }

    interface LibC extends Library {
        int pthread_sigmask(int how, Pointer set, Pointer oldset);
    }

    /** Unblocks SIGQUIT in the calling thread; false (and logged) when that cannot be done here. */
    static boolean unblockQuitInThisThread() {
        try {
            LibC c = Native.load("c", LibC.class);
            Memory set = new Memory(SIGSET_BYTES);
            set.clear();
            set.setLong(0, 1L << (SIGQUIT - 1));
            int rc = c.pthread_sigmask(SIG_UNBLOCK, set, Pointer.NULL);
            if (rc != 0) log.info("pthread_sigmask failed ({}): jobs get their signals back through env", rc);
            return rc == 0;
        } catch (Throwable e) {   // no JNA native library for this platform, no libc: the env step stays
            log.info("cannot unblock SIGQUIT in the launcher thread ({}): jobs get their signals back through env", e.toString());
            return false;
        }
    }

    /** Whether the calling thread blocks no signal, as {@code /proc/thread-self/status} says. */
    static boolean thisThreadBlocksNothing() {
        return mask(Path.of("/proc/thread-self/status"), "SigBlk:") == 0;
    }

    /** Whether this process ignores a signal a job's program could care about (see {@link #ignoredMatters}). */
    static boolean processIgnoresSignals() {
        return ignoredMatters(mask(Path.of("/proc/self/status"), "SigIgn:"));
    }

    /**
     * Whether a process's ignored signals (its {@code SigIgn} mask) would matter to a program
     * started from it: any signal but 32 and 33, which glibc keeps for itself (thread cancellation
     * and set*id across threads) and installs its own handlers for when it needs them. The JVM
     * ignores 32; a daemon started under {@code nohup} ignores SIGHUP, and one started in the
     * background by a shell SIGINT and SIGQUIT: those need the env step.
     */
    static boolean ignoredMatters(long sigIgn) {
        long glibcOwn = (1L << 31) | (1L << 32);
        return (sigIgn & ~glibcOwn) != 0;
    }

    /** A hexadecimal signal mask from a {@code /proc} status file; -1 when it cannot be read. */
    static long mask(Path status, String field) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith(field)) return Long.parseUnsignedLong(line.substring(field.length()).trim(), 16);
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or not readable: as if something were blocked or ignored
        }
        return -1;
    }
}
