package io.herd.executor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A process's command line, as {@code ps} shows it: for tests and benches that find a job's processes by a marker. */
public final class CommandLines {

    private CommandLines() {}

    /** {@code /proc/PID/cmdline} with its NUL separators as spaces; "" when the process is gone or unreadable. */
    public static String of(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
            for (int i = 0; i < b.length; i++) if (b[i] == 0) b[i] = ' ';
            return new String(b, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
