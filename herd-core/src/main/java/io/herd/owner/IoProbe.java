package io.herd.owner;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The owner's disk latency as the owner feels it: one 4 KiB write + fsync into a file in the
 * daemon's data directory, from the daemon (outside the guests' cgroup and its throttle), timed.
 * It costs one small synchronous write per reading, so the monitor only probes while guests run
 * and, where the kernel has pressure stall information, while some task is stalled on I/O.
 */
public final class IoProbe implements java.util.function.DoubleSupplier, AutoCloseable {

    private final Path file;
    private final ByteBuffer block = ByteBuffer.allocateDirect(4096);
    private FileChannel channel;

    public IoProbe(Path file) {
        this.file = file;
    }

    /** Milliseconds of one write + fsync; NaN when the file cannot be written (said once in the log by the caller). */
    public synchronized double sampleMillis() {
        try {
            if (channel == null) {
                channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            }
            block.clear();
            long t0 = System.nanoTime();
            channel.write(block, 0);
            channel.force(false);
            return (System.nanoTime() - t0) / 1e6;
        } catch (IOException e) {
            return Double.NaN;
        }
    }

    @Override
    public double getAsDouble() {
        return sampleMillis();
    }

    @Override
    public synchronized void close() {
        try {
            if (channel != null) channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // best effort
        }
        channel = null;
    }
}
