/**
 * Executor: runs a job's process on its host, keeps its output flowing,
 * signals and kills it, and accounts its CPU, with or without cgroups.
 *
 * <h2>Launching a job</h2>
 * <pre>
 *  ProcessRunner.start(LaunchSpec, OutputSink)
 *    resolve argv[0] on the job's own PATH ─── missing? LaunchException "program 'foo' not found on this host"
 *    Cgroups.create(name)      v2: herd/guests/NAME     v1: the same in freezer, cpu, cpuacct, memory, pids
 *    exec chain (one pid throughout, each step exec()s the next; [guest] = only for guests):
 *      setsid                  new session: the job's pid is its process group and session id
 *      sh -c JOIN …            [guest, sandboxed] ignore the forwardable signals (for bwrap's own processes);
 *                              [not on cgroup v1] echo $$ &gt; every cgroup.procs, restore an owner's exact
 *                              environment, exec. On v1 the launcher thread forks the job straight into its
 *                              cgroup instead (below), so an owner's job and a kept guest have no shell
 *      [guest] nice -n 19      lowest CPU priority, also where cgroups are missing
 *      [guest] ionice -c 3 -t  idle I/O class where the scheduler honours it; left out where the guests'
 *                              launcher thread is in the idle class itself (a child inherits its parent
 *                              thread's I/O priority at fork): one exec less per guest
 *      [guest, no cgroup] prlimit --as=MEM --nproc=PIDS --   the limits as rlimits
 *      [guest] bwrap … --      the sandbox (see {@link io.herd.executor.Sandbox}): read-only root, hidden
 *                              homes and node data, private /tmp, the sandbox dir the only writable place,
 *                              new PID/IPC/UTS/cgroup (and network, unless --net) namespaces, --die-with-parent
 *      [guest, root daemon] setpriv --reuid=herd-guest --regid … --clear-groups --no-new-privs --
 *      env --default-signal    [sandboxed guest, or where the launcher threads cannot pass signals on clean]
 *                              unblock SIGQUIT, which every JVM child inherits blocked, and undo the ignored
 *                              signals inside the sandbox (GNU env only); for a guest also
 *          -i -- NAME=VALUE…   its environment: every step before ran with PATH alone, as root (or the
 *                              daemon's user) and mostly outside the sandbox, where LD_PRELOAD or the like
 *                              would have run the guest's code; an owner's job has its environment throughout
 *      PROGRAM ARGS…
 *    a guest entering a kept sandbox ({@link io.herd.executor.WarmSandboxes}: root daemon, cgroups, nsenter)
 *    instead has, after the join (which then ignores nothing) and the priority steps:
 *      [env --default-signal]  signals at their defaults and unblocked, for nsenter and the job it forks,
 *                              only where the launcher threads cannot pass them on so (see below)
 *      nsenter -t INIT -m -u -i -n -p -r -w --   the kept sandbox's namespaces, root and directory; forks
 *                              (the job must be inside the PID namespace), waits, and ends as its child did
 *      setpriv … --  env --default-signal -i -- NAME=VALUE…  PROGRAM ARGS…
 *    guests: the cgroup gets memory.max (no swap), memory.high at 7/8 of it (v1: the soft limit) and
 *            pids.max before the job starts; guests/ itself has the lowest CPU and I/O weight, the
 *            guests' memory bound (RAM - owner-mem-reserve) and the guest-io budget (v2 io.max on
 *            guests/; v1 blkio.throttle on each job, the budget split between them: v1 throttling is
 *            flat. A new job takes the share the others have while that keeps all within the budget,
 *            else every share is cut at once; shares grow again half a second after jobs end)
 *    (a signal, kill or freeze first waits until /proc/PID shows the job cgroup, 1-2 ms after the start;
 *     a job nothing is sent to is not watched)
 *    two readers ──▶ OutputSink, ≤ 64 KiB per call; a slow sink blocks the job, not memory (readers
 *                    and the waiter run on pooled threads, {@code herd-exec-JOB-out|err|wait} while busy)
 *  exit: waitpid ─▶ kill what the job left in its cgroup (once it has had 5 ms to end by itself) ─▶ read its CPU (and, for a guest, whether the
 *        OOM killer acted: ExitStatus.failure "out of memory (limit X)") ─▶ remove the cgroup
 *        ─▶ drain stdout/stderr to end-of-file ─▶ RunningProcess.onExit() completes
 * </pre>
 *
 * <h2>Why the cgroup is joined before the job can fork</h2>
 * A cgroup is inherited at fork. If the daemon moved the job into its cgroup
 * after starting it, a child forked in between would stay outside: invisible
 * to {@code killTree}, its CPU unaccounted, free of the guests' limits. Java
 * cannot start a process stopped or straight into a cgroup
 * ({@code clone3(CLONE_INTO_CGROUP)}), so the job's first process is a small
 * shell that writes its own pid ({@code $$}) into the cgroup and only then
 * {@code exec}s the job: same pid, already inside, before any code of the
 * job runs. A shell that cannot join prints why and exits 125, and the job
 * ends with that as its failure ({@code ExitStatus.failure}). The shell sets {@code PWD}, so the
 * script unsets it (and OLDPWD, SHLVL) and re-exports the values the job
 * asked for: the job sees exactly {@link io.herd.executor.LaunchSpec#env()}
 * (dash is preferred as the shell; bash would add {@code _}).
 *
 * <h2>Fewer execs: the launcher threads do what wrappers did</h2>
 * Every exec costs the dynamic loader's start-up; on a virtual machine that is
 * most of a short job's cost (glibc probes the CPU's caches with CPUID, which
 * traps to the hypervisor: on the reference VM one exec of {@code true} costs
 * about 0.6 ms of CPU). Two wrappers are left out where the daemon's threads
 * can do their work:
 * <ul>
 *   <li><b>Signals</b> ({@link io.herd.executor.SignalMask}): each launcher
 *       thread unblocks SIGQUIT in itself at its start ({@code pthread_sigmask}
 *       through JNA). Where every launcher thread then blocks nothing and the
 *       daemon ignores no signal but glibc's own 32 and 33 (not started under
 *       {@code nohup} or in a shell's background), jobs start with every signal
 *       at its default and unblocked without {@code env --default-signal}.</li>
 *   <li><b>The cgroup</b>, on v1 only: v1 keeps a cgroup per thread, so the
 *       launcher thread writes 0 to the job cgroup's {@code tasks} files, forks,
 *       and moves back (with any thread born meanwhile, such as a new JDK
 *       process reaper, which would otherwise be frozen and killed with the
 *       job). The job is born in its cgroup: no joining shell. The first move
 *       is read back from {@code /proc/thread-self/cgroup}; where it does not
 *       work, jobs join from their chain as on v2 (a v2 domain cgroup holds
 *       whole processes, and Java cannot {@code clone3(CLONE_INTO_CGROUP)}).
 *       {@code -Dherd.thread-join=false} turns it off.</li>
 * </ul>
 *
 * <h2>Guests and signals</h2>
 * bwrap's outer process (the job's pid) and its pid 1 in the new PID namespace
 * are in the job's process group, so a Ctrl-C sent to the group would kill
 * bwrap and, through {@code --die-with-parent}, the whole sandbox before the
 * job could handle it. The joining shell therefore sets those signals to
 * ignored (inherited across exec), and {@code env --default-signal} puts them
 * back for the job inside the sandbox: the job sees Ctrl-C, SIGTERM and
 * SIGUSR1 as at a terminal, and bwrap exits with the job's status (128+N
 * after signal N). bwrap's {@code --new-session} is not used: {@code setsid}
 * already gave the job a session without a controlling terminal, the
 * sandbox's {@code /dev} has no host terminal to inject into, and a second
 * session would hide the job from the forwarded signals. A job's double-forked
 * children die with it twice over: the PID namespace ends with its pid 1, and
 * the cgroup is emptied.
 * <p>In a kept sandbox the job's first process is {@code nsenter}, which forks
 * the job into the sandbox's PID namespace and ends the way the job did: exit
 * N, or raising the job's fatal signal on itself. It must not ignore that
 * signal, so nothing is ignored there, and {@code signal(N)} goes to the job's
 * process group minus nsenter (the members of the job's cgroup in its group);
 * only KILL, STOP, CONT and the terminal stops reach nsenter too, which stops
 * itself when its child stops. The job's leftovers die with its cgroup; the
 * sandbox, and its pid 1, live on for the owner's next job.
 *
 * <h2>How a kill finds every process</h2>
 * <ul>
 *   <li>{@code signal(N)} goes to the process group ({@code kill -N -- -PGID}):
 *       what a terminal does with Ctrl-C; processes that called setsid or
 *       double-forked out of the group do not get it, as at a terminal.</li>
 *   <li>{@code killTree()} with a cgroup: v2 with {@code cgroup.kill} lets the
 *       kernel kill every member at once; otherwise the cgroup is frozen (so
 *       nothing can fork while its pid list is read), every pid in
 *       {@code cgroup.procs} gets SIGKILL, the cgroup is thawed (a frozen v1
 *       task dies only when thawed), and this repeats until the cgroup is
 *       empty. Double-forked, re-parented, setsid'ed children are found
 *       because cgroup membership is inherited; only a process that can
 *       write to the cgroup tree could leave it (guests run as an
 *       unprivileged account in a sandbox whose /sys is read-only, where none can).</li>
 *   <li>Without a cgroup: SIGKILL to the process group and to every
 *       descendant found through {@code ProcessHandle} (snapshotted before
 *       anything dies, since orphans are re-parented out of reach). A
 *       double-forked child that also left the group escapes; nothing
 *       user-space can find it reliably short of being a child subreaper,
 *       which Java cannot become.</li>
 *   <li>When the main process exits, the job is over: whatever it left
 *       running is killed the same way (a guest must not keep a host's CPU,
 *       or its output pipes, after its job has ended).</li>
 * </ul>
 *
 * <h2>Freezing (the owner comes back)</h2>
 * {@link io.herd.executor.RunningProcess#freeze()} stops every process of a
 * job where it stands: with a job cgroup that has a freezer, v1
 * {@code freezer.state = FROZEN} or v2 {@code cgroup.freeze = 1}, then waits
 * (at most 500 ms) for the kernel to report it done ({@code FROZEN},
 * {@code cgroup.events frozen 1}); a frozen task cannot fork, so nothing
 * escapes. Without one, SIGSTOP (through {@code kill(1)}, which the JDK cannot
 * send) to every process of the tree, repeated until a round finds no new
 * process, so a child forked while its parent was being stopped is stopped
 * too. {@code thaw()} undoes it; a frozen job can still be killed
 * ({@code killTree} thaws what it kills).
 *
 * <h2>One launcher thread</h2>
 * Every job is forked from one long-lived thread ({@code herd-exec-launcher}).
 * bwrap's {@code --die-with-parent} is {@code PR_SET_PDEATHSIG}, which the
 * kernel fires when the parent <em>thread</em> exits: forked from a pooled
 * gRPC thread, which retires after 60 s idle, a guest was killed a minute
 * after it started. The daemon has the JDK fork with {@code vfork} and execute
 * the chain's first program directly ({@code jdk.lang.Process.launchMechanism=VFORK};
 * the default, posix_spawn, executes the helper {@code jspawnhelper} first,
 * one more exec per job).
 *
 * <h2>Without cgroups</h2>
 * {@link io.herd.executor.Cgroups#detect()} finds v2, v1 or nothing at run
 * time; a non-root daemon, a read-only tree or a container without its own
 * cgroup namespace count as nothing. A job that asks for a cgroup then runs
 * without one (warned once): it still gets its own session, signals,
 * {@code killTree} by process group and descendants, and CPU time sampled
 * from {@code /proc} every 200 ms (its own, its reaped children's and its
 * live descendants' times; the last fraction of a second is lost, since
 * {@code /proc} forgets a process when it is reaped). Guest CPU share,
 * memory and pid limits need cgroups: {@code setGuestCpuShare} throws
 * {@code UnsupportedOperationException} saying so. Guests there run under
 * nice 19, ionice idle and rlimits (RLIMIT_AS for memory, RLIMIT_NPROC, which
 * counts all processes of the guests' account, for tasks). Without {@code setsid} (no util-linux) jobs
 * share the daemon's process group, so signals go to the job's process and
 * its descendants one by one.
 *
 * <h2>Exit status</h2>
 * {@link io.herd.executor.ExitStatus#code()} is what a shell reports: the
 * exit code, or 128+N after death by signal N (Linux's
 * {@code Process.exitValue()} already does this, and because every wrapper
 * {@code exec}s, the status is the job's own). As at a shell, a job that calls
 * {@code exit(137)} cannot be told from one killed by SIGKILL.
 *
 * <h2>Vocabulary</h2>
 * <dl>
 *   <dt>herd parent</dt><dd>{@code herd} or {@code herd-NODE}: one per daemon;
 *       on v1 inside the daemon's own cgroup, on v2 at the top of the tree
 *       (see {@link io.herd.executor.Cgroups}).</dd>
 *   <dt>guests</dt><dd>{@code PARENT/guests}: all guest jobs of the node; the
 *       guest CPU share is a CFS quota on it.</dd>
 *   <dt>job cgroup</dt><dd>{@code guests/NAME}: one job and everything it
 *       starts; created at launch, removed after exit.</dd>
 * </dl>
 */
package io.herd.executor;
