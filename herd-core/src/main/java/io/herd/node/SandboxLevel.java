package io.herd.node;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What isolation this node can give guests, as shown in {@code herd nodes}:
 * {@code bwrap+cgroup2}, {@code bwrap+cgroup1}, {@code cgroup2}, {@code cgroup1},
 * {@code bwrap} or {@code nice} (priority only). Detected, never assumed.
 */
public final class SandboxLevel {
    private SandboxLevel() {}

    public static String detect() {
        return describe(hasBwrap(), cgroupVersion(Path.of("/sys/fs/cgroup")));
    }

    static String describe(boolean bwrap, int cgroup) {
        String cg = cgroup == 0 ? "" : "cgroup" + cgroup;
        if (bwrap && !cg.isEmpty()) return "bwrap+" + cg;
        if (bwrap) return "bwrap";
        return cg.isEmpty() ? "nice" : cg;
    }

    static boolean hasBwrap() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "bwrap"))) return true;
        }
        return false;
    }

    /** 2 for the unified hierarchy, 1 for legacy controllers, 0 when neither is mounted. */
    static int cgroupVersion(Path root) {
        if (Files.exists(root.resolve("cgroup.controllers"))) return 2;
        if (Files.isDirectory(root.resolve("cpu")) || Files.isDirectory(root.resolve("memory"))) return 1;
        return 0;
    }
}
