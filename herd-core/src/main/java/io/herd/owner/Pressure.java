package io.herd.owner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The machine's memory and I/O pressure: the kernel's pressure stall information
 * ({@code /proc/pressure/io}, {@code /proc/pressure/memory}, Linux 4.20+ with PSI enabled) as the
 * share of time some task stalled since the previous sample, and {@code MemAvailable} from
 * {@code /proc/meminfo}. Detected, not assumed: without PSI the shares are NaN and
 * {@link #hasPsi()} is false, and the back-off works from available memory and the probe alone.
 */
public final class Pressure {

    private final Path proc;
    private final boolean psi;
    private long lastNanos;
    private long lastIoTotal = -1;
    private long lastMemTotal = -1;
    private double ioSome = Double.NaN;
    private double memSome = Double.NaN;

    /** @param proc the proc file system ({@code /proc}; a fake directory in tests) */
    public Pressure(Path proc) {
        this.proc = proc;
        this.psi = Files.isReadable(proc.resolve("pressure/io")) && Files.isReadable(proc.resolve("pressure/memory"));
    }

    /** True when the kernel gives pressure stall information. */
    public boolean hasPsi() {
        return psi;
    }

    /** Reads the counters; the shares are over the time since the previous call (NaN the first time). */
    public synchronized void sample(long nowNanos) {
        if (!psi) return;
        long io = someTotal(proc.resolve("pressure/io"));
        long mem = someTotal(proc.resolve("pressure/memory"));
        double dtMicros = (nowNanos - lastNanos) / 1e3;
        ioSome = lastIoTotal < 0 || io < 0 || dtMicros <= 0 ? Double.NaN : Math.min(1, Math.max(0, (io - lastIoTotal) / dtMicros));
        memSome = lastMemTotal < 0 || mem < 0 || dtMicros <= 0 ? Double.NaN
                : Math.min(1, Math.max(0, (mem - lastMemTotal) / dtMicros));
        lastIoTotal = io;
        lastMemTotal = mem;
        lastNanos = nowNanos;
    }

    /** Share of the last interval some task stalled on I/O; NaN when unknown. */
    public synchronized double ioSome() {
        return ioSome;
    }

    /** Share of the last interval some task stalled on memory; NaN when unknown. */
    public synchronized double memSome() {
        return memSome;
    }

    /** MemAvailable in bytes; -1 when unknown. */
    public long memAvailable() {
        try {
            for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    String[] f = line.trim().split("\\s+");
                    return Long.parseLong(f[1]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** MemTotal in bytes; -1 when unknown. */
    public long memTotal() {
        try {
            for (String line : Files.readAllLines(proc.resolve("meminfo"))) {
                if (line.startsWith("MemTotal:")) return Long.parseLong(line.trim().split("\\s+")[1]) * 1024;
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    /** The {@code total=} microseconds of the {@code some} line; -1 when unreadable. */
    static long someTotal(Path file) {
        try {
            for (String line : Files.readAllLines(file)) {
                if (!line.startsWith("some ")) continue;
                for (String f : line.split("\\s+")) if (f.startsWith("total=")) return Long.parseLong(f.substring(6));
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
