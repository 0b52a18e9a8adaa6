package io.herd.executor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The fields of {@code /proc/PID/stat} the executor needs: state, process
 * group, session and CPU times. Times are in clock ticks of {@code USER_HZ},
 * which the kernel fixes at 100 for user space on every mainstream
 * architecture (it is not the kernel's internal {@code HZ}).
 */
record ProcStat(long pid, char state, long ppid, long pgrp, long session,
                long utime, long stime, long cutime, long cstime) {

    static final long USER_HZ = 100;

    static Optional<ProcStat> read(long pid) {
        try {
            return Optional.of(parse(pid, Files.readString(Path.of("/proc", Long.toString(pid), "stat"),
                    StandardCharsets.ISO_8859_1)));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();   // gone, or not ours to read
        }
    }

    /** The command name sits in parentheses and may itself hold spaces and ')': split after the last ')'. */
    static ProcStat parse(long pid, String line) {
        int close = line.lastIndexOf(')');
        if (close < 0) throw new IllegalArgumentException("not a /proc stat line: " + line);
        String[] f = line.substring(close + 2).trim().split(" ");
        // f[0] = field 3 (state); field n is f[n - 3].
        return new ProcStat(pid, f[0].charAt(0), Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]),
                Long.parseLong(f[11]), Long.parseLong(f[12]), Long.parseLong(f[13]), Long.parseLong(f[14]));
    }

    /** A zombie has finished; only its parent's wait is missing (orphans wait on init, which may never reap). */
    boolean running() {
        return state != 'Z' && state != 'X';
    }

    /** CPU of this process and of the children it has reaped, in milliseconds. */
    long cpuMillisWithReapedChildren() {
        return (utime + stime + cutime + cstime) * 1000 / USER_HZ;
    }

    /** True while {@code pid} exists and has not exited. */
    static boolean isRunning(long pid) {
        return read(pid).map(ProcStat::running).orElse(false);
    }
}
