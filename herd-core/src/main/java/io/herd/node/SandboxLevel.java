package io.herd.node;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What isolation this node can give guests, as shown in {@code herd nodes}:
 * {@code bwrap+cgroup2}, {@code bwrap+cgroup1}, {@code cgroup2}, {@code cgroup1},
 * {@code bwrap} or {@code nice} (priority and rlimits only). Detected, never assumed:
 * {@link #of} reports what the daemon found working (a bwrap that built a test sandbox,
 * a cgroup hierarchy it can use).
 */
public final class SandboxLevel {
    private SandboxLevel() {}

    /** The level this node gives guests: its probed sandbox and its cgroups. */
    public static String of(io.herd.executor.Sandbox sandbox, io.herd.executor.Cgroups cgroups) {
        int cg = !cgroups.usable() ? 0 : switch (cgroups.version()) {
            case V1 -> 1;
            case V2 -> 2;
            default -> 0;
        };
        return describe(sandbox.available(), cg);
    }

    /**
     * The level with the guests' disk I/O control after a space, as gossiped and shown in the
     * GUEST IO column of {@code herd nodes}: {@code bwrap+cgroup1 io:blkio.throttle+psi}. The I/O
     * part is how guest I/O is capped ({@code io.max}, {@code blkio.throttle}, {@code weight} or
     * {@code none}, see {@link io.herd.executor.Cgroups#ioControl}) and {@code +psi} when the
     * kernel gives pressure stall information. Carried in the sandbox string, whose size is bounded
     * already, so the gossip entry does not grow.
     */
    public static String of(io.herd.executor.Sandbox sandbox, io.herd.executor.Cgroups cgroups, boolean psi) {
        return of(sandbox, cgroups) + " " + io(cgroups.usable() ? cgroups.ioControl() : "none", psi);
    }

    /** The I/O part: {@code io:io.max+psi}, {@code io:none}. */
    static String io(String control, boolean psi) {
        return "io:" + control + (psi ? "+psi" : "");
    }

    /** A guess from what is installed (bwrap on PATH, a cgroup mount), without probing. */
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
