package io.herd.executor;

import java.io.OutputStream;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** A job started by {@link ProcessRunner}. Thread-safe. */
public interface RunningProcess {

    /** The job's pid; also its process group and session id when {@code setsid} was available. */
    long pid();

    /** The job's cgroup name, empty when it runs without one (no cgroups here, or none asked for). */
    Optional<String> cgroup();

    /**
     * The job's standard input. Each write is flushed at once; close it to
     * send end-of-file.
     *
     * @throws IllegalStateException when the job was launched without {@code stdinPiped}
     */
    OutputStream stdin();

    /**
     * Sends signal {@code signo} (1-64) to the job's whole process group, as
     * a terminal's Ctrl-C does. Children that left the group (setsid, double
     * fork) are not reached: use {@link #killTree()} to end everything. Does
     * nothing once the job has exited.
     */
    void signal(int signo);

    /**
     * SIGKILL to every process of the job, double-forked children that left
     * its process group included when the job has a cgroup. Returns when they
     * are all dead (or after a few seconds if the kernel holds some in
     * uninterruptible sleep); {@link #onExit()} then completes.
     */
    void killTree();

    /**
     * Completes once the job's main process has exited, the processes it left
     * behind are killed, its output has been fully delivered to the sink and
     * its cgroup is removed. Never completes exceptionally.
     */
    CompletableFuture<ExitStatus> onExit();
}
