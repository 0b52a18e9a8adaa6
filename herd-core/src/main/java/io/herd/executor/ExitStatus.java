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
 * @param failure   why the host ended the job, when it did: "out of memory (limit 64 MiB)"
 *                  after the kernel's OOM killer acted on the job's memory limit; null otherwise
 */
public record ExitStatus(int code, Integer signal, long cpuMillis, String failure) {

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

    public ExitStatus(int code, Integer signal, long cpuMillis) {
        this(code, signal, cpuMillis, null);
    }

    /** "out of memory (limit 64 MiB)"; without a known limit "out of memory". */
    public static String outOfMemory(long limitBytes) {
        return limitBytes <= 0 ? "out of memory" : "out of memory (limit " + bytes(limitBytes) + ")";
    }

    /** Bytes in binary units, exact where it can be: 512 KiB, 64 MiB, 1.5 GiB, 1000 B. */
    public static String bytes(long n) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int i = 0;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        String num = v == Math.rint(v) ? Long.toString((long) v) : String.format(java.util.Locale.ROOT, "%.1f", v);
        return num + " " + units[i];
    }

    /** This status with the host's reason for ending the job. */
    ExitStatus withFailure(String why) {
        return new ExitStatus(code, signal, cpuMillis, why);
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
        if (failure != null) return failure;
        if (signal == null) return "exit " + code;
        return "killed by " + NAMES.getOrDefault(signal, "signal") + " (" + signal + ")";
    }

    @Override
    public String toString() {
        return describe() + ", " + cpuMillis + " ms CPU";
    }
}
