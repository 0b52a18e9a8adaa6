package io.herd.host;

import java.nio.file.Files;
import java.nio.file.Path;

/** Whether a program is installed on this host (for {@code --needs} and clear "not found" errors). */
public final class Programs {
    private Programs() {}

    public static boolean present(String program) {
        if (program.contains("/")) return Files.isExecutable(Path.of(program));
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/local/bin:/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return true;
        }
        return false;
    }
}
