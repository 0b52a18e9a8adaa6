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
     * Stops every process of the job where it stands, so it uses no CPU until
     * {@link #thaw()}: the cgroup freezer where the job has a cgroup with one
     * (returns once the kernel was asked; it completes within moments), else
     * SIGSTOP to every process of its tree (repeated until no new process
     * appears, so a fork racing the stop is caught). Idempotent.
     *
     * @return how it was frozen ({@code "cgroup freezer"} or {@code "SIGSTOP"}); null when it
     *         has exited or could not be stopped (no kill(1) for the fallback)
     */
    String freeze();

    /** Lets a frozen job run again (thaws its cgroup, or SIGCONT to its tree); does nothing otherwise. */
    void thaw();

    /** True between {@link #freeze()} and {@link #thaw()}. */
    boolean frozen();

    /**
     * Completes once the job's main process has exited, the processes it left
     * behind are killed, its output has been fully delivered to the sink and
     * its cgroup is removed. Never completes exceptionally.
     */
    CompletableFuture<ExitStatus> onExit();
}
