package io.herd.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Fake "nodes" for the GNU parallel baseline: one cgroup per node, each with a CPU quota in cores
 * (v1 {@code cpu.cfs_quota_us}, v2 {@code cpu.max}), made under the cpu hierarchy's root.
 * Needs root. A process joins a node by writing its pid to the node's {@code cgroup.procs}
 * (see the wrapper {@link #wrapper}). {@link #close()} moves nothing: it removes the cgroups once
 * their processes have exited.
 */
final class CpuSlices implements AutoCloseable {
    private static final long PERIOD_US = 100_000;
    private final Path parent;
    private final boolean v2;
    private final Map<String, Path> nodes = new LinkedHashMap<>();

    CpuSlices(String parentName) throws IOException {
        Path v1 = Path.of("/sys/fs/cgroup/cpu");
        Path unified = Path.of("/sys/fs/cgroup");
        if (Files.isDirectory(v1) && Files.exists(v1.resolve("cgroup.procs"))) {
            v2 = false;
            parent = v1.resolve(parentName);
        } else if (Files.exists(unified.resolve("cgroup.controllers"))
                && Files.readString(unified.resolve("cgroup.controllers")).contains("cpu")) {
            v2 = true;
            parent = unified.resolve(parentName);
            Files.writeString(unified.resolve("cgroup.subtree_control"), "+cpu");
        } else {
            throw new IOException("no cgroup cpu controller at /sys/fs/cgroup/cpu (v1) or /sys/fs/cgroup (v2)");
        }
        Files.createDirectories(parent);
        if (v2) Files.writeString(parent.resolve("cgroup.subtree_control"), "+cpu");
    }

    /** A node limited to {@code cores} CPUs; returns its {@code cgroup.procs}. */
    Path node(String name, double cores) throws IOException {
        Path dir = parent.resolve(name);
        Files.createDirectories(dir);
        long quota = Math.round(cores * PERIOD_US);
        if (v2) {
            Files.writeString(dir.resolve("cpu.max"), quota + " " + PERIOD_US);
        } else {
            Files.writeString(dir.resolve("cpu.cfs_period_us"), Long.toString(PERIOD_US));
            Files.writeString(dir.resolve("cpu.cfs_quota_us"), Long.toString(quota));
        }
        nodes.put(name, dir);
        return dir.resolve("cgroup.procs");
    }

    /**
     * A script for GNU parallel's {@code --ssh}: parallel calls it as {@code SCRIPT HOST -- COMMAND…};
     * it puts itself into HOST's cgroup and runs the command there, as ssh would on that host.
     */
    String wrapper() {
        return "#!/bin/sh\n"
                + "host=$1; shift\n"
                + "[ \"$1\" = \"--\" ] && shift\n"
                + "echo $$ > '" + parent + "'/\"$host\"/cgroup.procs || exit 255\n"
                + "exec sh -c \"$*\"\n";
    }

    @Override
    public void close() {
        for (Path dir : nodes.values()) rmdir(dir);
        rmdir(parent);
    }

    private static void rmdir(Path dir) {
        for (int i = 0; i < 50; i++) {
            try {
                Files.deleteIfExists(dir);
                return;
            } catch (IOException e) {
                try {
                    Thread.sleep(100); // EBUSY: the last processes are still exiting
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        System.err.println("could not remove cgroup " + dir);
    }
}
