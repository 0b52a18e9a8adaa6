package io.herd.owner;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.FileTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The test input source: a file whose modification time changing (touch, a
 * write, being created) means "the owner pressed a key now". Point a daemon at
 * it with {@code -Dherd.ownerInput=FILE} (relative to the data directory).
 * Its directory is watched with inotify (a {@link WatchService}), so a touch is
 * seen as it happens and the monitor need not poll; where the directory cannot
 * be watched (it does not exist yet, or no inotify), each read is one
 * {@code stat}, cheap enough for the monitor's 10 ms polling. Give the file a
 * directory of its own ({@code owner/input}) where the data directory's other
 * files change often: every change in the directory wakes the watch.
 */
public final class InputFile implements OwnerInput {

    private static final Logger log = LoggerFactory.getLogger(InputFile.class);

    private final Path file;
    private FileTime seen;
    private long last = NEVER;
    private final WatchService watcher;
    private volatile boolean watching;
    private volatile Runnable listener = () -> { };

    /** What the file shows when the watch starts is not input: only later changes are. */
    public InputFile(Path file) {
        this.file = file;
        this.watcher = register(file.toAbsolutePath().getParent());
        this.seen = mtime();   // after the watch is in place, before it is read: no change falls between
        if (watcher != null) {
            Thread t = new Thread(() -> pump(watcher), "herd-input-file");
            t.setDaemon(true);
            watching = true;
            t.start();
        }
    }

    public Path file() {
        return file;
    }

    private static WatchService register(Path dir) {
        if (dir == null || !Files.isDirectory(dir)) return null;
        WatchService w = null;
        try {
            w = dir.getFileSystem().newWatchService();
            dir.register(w, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_MODIFY);
            return w;
        } catch (IOException | UnsupportedOperationException e) {
            log.debug("cannot watch {} ({}): the owner input file is polled", dir, e.toString());
            if (w != null) {
                try {
                    w.close();
                } catch (IOException ignored) {
                    // not watching anyway
                }
            }
            return null;
        }
    }

    private void pump(WatchService w) {
        Path name = file.getFileName();
        try {
            while (true) {
                WatchKey key = w.take();
                boolean ours = false;
                for (WatchEvent<?> e : key.pollEvents()) {
                    ours |= e.kind() == StandardWatchEventKinds.OVERFLOW || name.equals(e.context());
                }
                if (!key.reset()) {   // the directory is gone: back to polling
                    watching = false;
                    return;
                }
                if (ours && changed()) listener.run();
            }
        } catch (InterruptedException | ClosedWatchServiceException e) {
            watching = false;
        }
    }

    private synchronized boolean changed() {
        long before = last;
        return lastInputMillis() != before;
    }

    @Override
    public synchronized long lastInputMillis() {
        FileTime t = mtime();
        if (t != null && !t.equals(seen)) last = OwnerInput.nowMillis();
        seen = t;
        return last;
    }

    @Override
    public boolean notifies() {
        return watching;
    }

    @Override
    public void onInput(Runnable listener) {
        this.listener = listener;
    }

    @Override
    public void close() {
        watching = false;
        if (watcher != null) {
            try {
                watcher.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }

    private FileTime mtime() {
        try {
            return Files.getLastModifiedTime(file);
        } catch (IOException e) {
            return null;
        }
    }
}
