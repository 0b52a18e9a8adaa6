package io.herd.gossip;

import oshi.SystemInfo;
import oshi.hardware.CentralProcessor;
import oshi.hardware.GlobalMemory;

/**
 * What the operating system says about this machine's capacity and load,
 * through OSHI. One probe lives as long as the daemon: OSHI's objects are
 * built once (building them scans sysfs and costs tens of milliseconds) and
 * each {@link #sample()} only reads /proc/stat, /proc/loadavg and
 * /proc/meminfo, well under a millisecond, so sampling every second is free.
 */
public final class HostProbe {

    /**
     * One reading.
     *
     * @param cores          online logical CPUs
     * @param load1          1-minute load average; 0 where the OS has none
     * @param cpuPercent     whole-machine CPU utilisation since the previous
     *                       sample, 0..100; 0 on the first
     * @param memTotalBytes  physical memory
     * @param memFreeBytes   memory available to new work without swapping
     *                       (Linux MemAvailable, not MemFree: page cache is
     *                       reclaimable and counts as free)
     * @param swapTotalBytes swap size
     * @param swapFreeBytes  swap not in use
     */
    public record HostSample(int cores, double load1, double cpuPercent, long memTotalBytes, long memFreeBytes,
                             long swapTotalBytes, long swapFreeBytes) {
    }

    private final CentralProcessor cpu;
    private final GlobalMemory memory;
    private long[] previousTicks;

    public HostProbe() {
        var hal = new SystemInfo().getHardware();
        this.cpu = hal.getProcessor();
        this.memory = hal.getMemory();
    }

    /** Reads the machine now. Thread-safe; CPU% is relative to the previous call from any thread. */
    public synchronized HostSample sample() {
        long[] ticks = cpu.getSystemCpuLoadTicks();
        double cpuPercent = 0;
        if (previousTicks != null) {
            double busy = cpu.getSystemCpuLoadBetweenTicks(previousTicks, ticks);
            // NaN when no tick elapsed between two calls in the same jiffy.
            cpuPercent = Double.isFinite(busy) ? Math.min(100.0, Math.max(0.0, busy * 100.0)) : 0.0;
        }
        previousTicks = ticks;

        double[] load = cpu.getSystemLoadAverage(1);
        double load1 = load.length > 0 && load[0] >= 0 ? load[0] : 0.0; // negative means "not available"

        var swap = memory.getVirtualMemory();
        long swapTotal = Math.max(0, swap.getSwapTotal());
        long swapFree = Math.max(0, swapTotal - Math.max(0, swap.getSwapUsed()));
        return new HostSample(Math.max(1, cpu.getLogicalProcessorCount()), load1, cpuPercent,
                Math.max(0, memory.getTotal()), Math.max(0, memory.getAvailable()), swapTotal, swapFree);
    }
}
