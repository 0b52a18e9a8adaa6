package io.herd.executor;

import java.util.Map;

/**
 * How a job ended.
 *
 * @param code      the shell's view of the status: 0-255 from exit(), or
 *                  128+N after death by signal N. herd exits with this code.
 * @param signal    the signal that killed the job, or null if it exited
 * @param cpuMillis CPU time of the job and every process it started: from the
 *                  cgroup's accounting when it had one, else sampled from
 *                  {@code /proc} while it ran (so the last fraction of a second
 *                  and children that never got reaped may be missing)
 */
public record ExitStatus(int code, Integer signal, long cpuMillis) {

    private static final Map<Integer, String> NAMES = Map.ofEntries(
            Map.entry(1, "SIGHUP"), Map.entry(2, "SIGINT"), Map.entry(3, "SIGQUIT"), Map.entry(4, "SIGILL"),
            Map.entry(5, "SIGTRAP"), Map.entry(6, "SIGABRT"), Map.entry(7, "SIGBUS"), Map.entry(8, "SIGFPE"),
            Map.entry(9, "SIGKILL"), Map.entry(10, "SIGUSR1"), Map.entry(11, "SIGSEGV"),
            Map.entry(12, "SIGUSR2"), Map.entry(13, "SIGPIPE"), Map.entry(14, "SIGALRM"),
            Map.entry(15, "SIGTERM"), Map.entry(24, "SIGXCPU"), Map.entry(25, "SIGXFSZ"));

    public ExitStatus {
        if (code < 0 || code > 255) throw new IllegalArgumentException("exit code out of range: " + code);
        if (signal != null && (signal < 1 || signal > 64)) throw new IllegalArgumentException("bad signal " + signal);
        if (cpuMillis < 0) throw new IllegalArgumentException("negative CPU time");
    }

    /**
     * The status Java reports for a child. On Linux {@code Process.exitValue()}
     * is already {@code 128 + N} for death by signal N, which a program can also
     * return with {@code exit(128 + N)}; like a shell, herd cannot tell those
     * apart and reads codes 129-192 as signals.
     */
    static ExitStatus fromJava(int exitValue, long cpuMillis) {
        int code = exitValue & 0xff;
        Integer signal = code > 128 && code <= 128 + 64 ? code - 128 : null;
        return new ExitStatus(code, signal, cpuMillis);
    }

    public boolean success() {
        return code == 0;
    }

    /** "exit 0", "exit 3", "killed by SIGKILL (9)". */
    public String describe() {
        if (signal == null) return "exit " + code;
        return "killed by " + NAMES.getOrDefault(signal, "signal") + " (" + signal + ")";
    }

    @Override
    public String toString() {
        return describe() + ", " + cpuMillis + " ms CPU";
    }
}
