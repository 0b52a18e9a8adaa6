package io.herd.owner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.Supplier;

/**
 * The owner's own CPU load, in cores: all CPU time the machine used
 * ({@code /proc/stat}) minus what the guests used (their cgroup's counter),
 * over the time between two samples. Guests' own load therefore never counts
 * as the owner coming back. Without a guest counter (no cgroups) the load is
 * unknown (NaN): a busy machine cannot be told from busy guests.
 */
public final class OwnerLoad {

    /** USER_HZ: the unit of /proc/stat, 100 on every Linux architecture herd runs on. */
    private static final double TICKS_PER_SECOND = 100;

    private final Path procStat;
    private final Supplier<OptionalLong> guestCpuNanos;
    private long lastWallNanos;
    private double lastBusySeconds = Double.NaN;
    private long lastGuestNanos;

    /** @param guestCpuNanos CPU used by all guests together so far (monotonic), empty when unknown */
    public OwnerLoad(Path procStat, Supplier<OptionalLong> guestCpuNanos) {
        this.procStat = procStat;
        this.guestCpuNanos = guestCpuNanos;
    }

    /** The owner's load since the previous call, in cores; NaN on the first call or when unknown. */
    public synchronized double sample() {
        long wall = System.nanoTime();
        double busy = busySeconds();
        OptionalLong guests = guestCpuNanos.get();
        double load = Double.NaN;
        if (!Double.isNaN(lastBusySeconds) && !Double.isNaN(busy) && guests.isPresent() && wall > lastWallNanos) {
            double dt = (wall - lastWallNanos) / 1e9;
            double guestSeconds = Math.max(0, (guests.getAsLong() - lastGuestNanos) / 1e9);
            load = Math.max(0, (busy - lastBusySeconds - guestSeconds) / dt);
        }
        lastWallNanos = wall;
        lastBusySeconds = busy;
        lastGuestNanos = guests.orElse(0);
        return load;
    }

    /** Busy CPU seconds of all cores since boot: everything but idle and iowait. */
    private double busySeconds() {
        try {
            for (String line : Files.readAllLines(procStat)) {
                if (!line.startsWith("cpu ")) continue;
                String[] f = line.trim().split("\\s+");
                long busy = 0;
                for (int i = 1; i < f.length && i <= 8; i++) {
                    if (i == 4 || i == 5) continue;   // idle, iowait
                    busy += Long.parseLong(f[i]);
                }
                return busy / TICKS_PER_SECOND;
            }
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
        return Double.NaN;
    }
}
