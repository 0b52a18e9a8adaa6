package io.herd.executor;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What to run for one job on this host.
 *
 * @param jobId      the job's id, for thread names and messages
 * @param argv       program and arguments; a program without '/' is looked up
 *                   on the {@code PATH} of {@code env} (or
 *                   {@value ProcessRunner#DEFAULT_PATH} when it has none), one
 *                   with '/' relative to {@code workDir}
 * @param workDir    the directory the job starts in; must exist
 * @param env        exactly the job's environment: nothing of the daemon's is inherited
 * @param stdinPiped true to forward input through {@link RunningProcess#stdin()};
 *                   false gives the job {@code /dev/null}
 * @param cgroupName the job's cgroup under the herd parent's {@code guests}, or
 *                   null for none; letters, digits, '.', '_' and '-' only. The
 *                   runner creates it if missing and removes it when the job ends.
 * @param guest      how to confine the job as a guest (sandbox, network, limits), or null for
 *                   the node owner's own job, which runs as the daemon's user without them
 */
public record LaunchSpec(String jobId, List<String> argv, Path workDir, Map<String, String> env,
                         boolean stdinPiped, String cgroupName, Guest guest) {

    /**
     * A guest's confinement.
     *
     * @param network  keep the host's network (the job asked with {@code --net} and the host allows it)
     * @param memBytes memory limit (cgroup, else an address-space rlimit); 0 = none
     * @param pidsMax  most tasks at once (cgroup {@code pids.max}, else an rlimit); 0 = none
     * @param kept     the kept sandbox the job enters ({@link WarmSandboxes}), or null for a fresh one
     */
    public record Guest(boolean network, long memBytes, int pidsMax, WarmSandboxes.Lease kept) {
        public Guest {
            if (memBytes < 0 || pidsMax < 0) throw new IllegalArgumentException("negative guest limit");
        }

        /** A guest in a fresh sandbox. */
        public Guest(boolean network, long memBytes, int pidsMax) {
            this(network, memBytes, pidsMax, null);
        }

        /** This guest in the kept sandbox {@code lease}. */
        public Guest in(WarmSandboxes.Lease lease) {
            return new Guest(network, memBytes, pidsMax, lease);
        }
    }

    /** An owner's job: no sandbox, no limits. */
    public LaunchSpec(String jobId, List<String> argv, Path workDir, Map<String, String> env,
                      boolean stdinPiped, String cgroupName) {
        this(jobId, argv, workDir, env, stdinPiped, cgroupName, null);
    }

    /** This spec run as a guest. */
    public LaunchSpec asGuest(Guest g) {
        return new LaunchSpec(jobId, argv, workDir, env, stdinPiped, cgroupName, g);
    }

    static final Pattern CGROUP_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    public LaunchSpec {
        Objects.requireNonNull(jobId, "jobId");
        argv = List.copyOf(argv);
        if (argv.isEmpty() || argv.get(0).isEmpty()) {
            throw new IllegalArgumentException("job " + jobId + " has no program to run");
        }
        Objects.requireNonNull(workDir, "workDir");
        env = Map.copyOf(env);
        if (cgroupName != null) checkCgroupName(cgroupName);
    }

    static String checkCgroupName(String name) {
        if (!CGROUP_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("cgroup name '" + name
                    + "' must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }
}
