package io.herd.owner;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keyboard and mouse input as it happens: one thread per {@code /dev/input/event*}
 * device blocked in {@code read}, so a key press is seen within microseconds
 * instead of at the next once-a-second idle-time reading. Reading input devices
 * needs root (or the {@code input} group), which a daemon lending its machine
 * has; where none can be opened this source simply never reports input and
 * the idle time from logind and the terminals still counts. Only the fact of
 * an event is used, never its content.
 */
public final class InputDevices implements OwnerInput {

    private static final Logger log = LoggerFactory.getLogger(InputDevices.class);

    private volatile long last = NEVER;
    private volatile boolean closed;
    private volatile Runnable listener = () -> { };
    private final List<InputStream> open = new ArrayList<>();

    /** Opens every readable {@code event*} device under {@code dir} (normally {@code /dev/input}). */
    public InputDevices(Path dir) {
        if (!Files.isDirectory(dir)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "event*")) {
            for (Path dev : ds) {
                try {
                    InputStream in = Files.newInputStream(dev);
                    open.add(in);
                    Thread t = new Thread(() -> pump(dev, in), "herd-input-" + dev.getFileName());
                    t.setDaemon(true);
                    t.start();
                } catch (IOException | SecurityException e) {
                    log.debug("cannot read {}: {}", dev, e.toString());
                }
            }
        } catch (IOException e) {
            log.debug("cannot list {}: {}", dir, e.toString());
        }
        if (!open.isEmpty()) log.info("watching {} input devices under {} for the owner's input", open.size(), dir);
    }

    /** Devices being read. */
    public int devices() {
        return open.size();
    }

    private void pump(Path dev, InputStream in) {
        byte[] buf = new byte[24 * 64];   // struct input_event is 24 bytes on 64-bit
        try {
            while (!closed && in.read(buf) >= 0) {
                last = OwnerInput.nowMillis();
                listener.run();
            }
        } catch (IOException e) {
            if (!closed) log.debug("stopped reading {}: {}", dev, e.toString());
        }
    }

    @Override
    public long lastInputMillis() {
        return last;
    }

    /** Every read is an event as it happens; with no device there is nothing to poll either. */
    @Override
    public boolean notifies() {
        return true;
    }

    @Override
    public void onInput(Runnable listener) {
        this.listener = listener;
    }

    @Override
    public void close() {
        closed = true;
        for (InputStream in : open) {
            try {
                in.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
