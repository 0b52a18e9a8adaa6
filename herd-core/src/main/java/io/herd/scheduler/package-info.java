/**
 * Scheduler: where each job runs, and which waiting job goes next. Pure
 * functions and plain objects: no I/O, no threads, no clock (time comes in as
 * {@code long} milliseconds), so the daemon, the tests and a simulator of
 * thousands of nodes run the same code.
 *
 * <h2>Pipeline</h2>
 * <pre>
 *  gossip + membership + labels ─▶ HostView (one per node, a snapshot)
 *  job options (--cpus --mem --on --needs --node, inputs) ─▶ JobRequest
 *
 *  JobRequest × HostView ─▶ Feasibility.check ─ filters in order: state → pinned → guests
 *                                               → policy → slots → cpus → mem → needs → constraint
 *       feasible hosts ─▶ Placement.rank ─▶ Plan: candidates by expected completion time,
 *                                                 rejected hosts with their reasons
 *       nothing feasible ─▶ Placement.explainUnsatisfiable ─▶ WAIT (queue) or NEVER (refuse, say why)
 *
 *  LiveQueue (jobs waiting at home) + FairShare ─▶ order: users by priority, FIFO per user
 *       ─▶ dispatch(hosts, busyUntil): each job in order to its best feasible host, taking
 *          that host's slot, CPUs and memory in a scratch copy ─▶ Assignments; or it
 *          waits for a busy host that would finish it sooner (earliest finish time,
 *          from when the home's own jobs there are expected to end)
 *       ─▶ the home node offers each; the host re-checks with fresher numbers and
 *          may refuse, then the job is re-queued or offered to the next candidate
 * </pre>
 *
 * <h2>Vocabulary</h2>
 * <dl>
 *   <dt>feasible</dt><dd>the host passes every filter now. A host that fails
 *       only filters that change by waiting (busy slots, CPUs, free memory,
 *       a suspect state, a constraint on load) is <em>busy</em>; one that
 *       fails a filter that waiting cannot fix (too few cores, too little
 *       physical memory, a missing program, a label) can <em>never</em> run
 *       the job.</dd>
 *   <dt>accepting guests</dt><dd>what the node's owner allows now, gossiped: not
 *       locked ({@code herd lock}) and its {@code accept} rule holds (always, after
 *       N minutes idle, inside time windows, never). A node not accepting is
 *       skipped for guests, but the job only waits: the owner can change that.
 *       The home owner's own jobs at home are not guests there.</dd>
 *   <dt>reason</dt><dd>the first failing filter's short line, prefixed with
 *       its name: {@code mem: needs 8.0G, has 3.2G free}.</dd>
 *   <dt>candidate</dt><dd>a feasible host with its expected completion time.</dd>
 *   <dt>expected completion time</dt><dd>seconds from now until the job would
 *       finish there: moving its inputs plus computing (below).</dd>
 *   <dt>work</dt><dd>the job's estimated size in reference core-seconds: what
 *       one core of speed 1.0 needs. Speed is gossip's calibrated per-core
 *       figure, so a node of speed 5 does it in a fifth of the time.</dd>
 *   <dt>guest CPU capacity</dt><dd>the cores all guests of a node may use
 *       together: its guest CPU share, or all cores when it has none. Its
 *       rounding up is the guest CPU limit that {@code --cpus} must fit.</dd>
 *   <dt>reserve</dt><dd>memory a guest never takes: 5% of the node's memory,
 *       at least 256 MiB.</dd>
 *   <dt>fair share</dt><dd>each user's CPU use, decayed with a half-life (1 h),
 *       sets their priority: less recent use, earlier turn.</dd>
 *   <dt>dispatch round</dt><dd>one walk of the live queue against one snapshot
 *       of the hosts; within a round no host is given more than it has.</dd>
 *   <dt>move</dt><dd>with the queue empty, a running job restarted on a free host
 *       that would finish it in at most 0.7 of its remaining time
 *       ({@link io.herd.scheduler.Moves}).</dd>
 * </dl>
 *
 * <h2>Formulas</h2>
 * <pre>
 *   expected  = transfer + compute
 *   transfer  = inputBytes / bytesPerSecondFromHome     0 at home or without inputs; unmeasured = 100 MB/s
 *   compute   = work / (speed × effective)
 *   effective = max(0.1, cpus × min(1, forGuests / (guests + cpus)))
 *   forGuests = max(0, min(capacity, cores − clamp(load1 − guests, 0, cores)))
 *   load1     = the load average, less the jobs of other herd nodes on the same machine
 *   guests    = CPUs held by the node's guests (each running guest counts as 1)
 *   ties      → lower load1, then name
 *
 *   usage(t)    = usage(t0) × 2^(−(t − t0) / halfLife)
 *   priority(u) = 1 / (1 + usage(u) / (shares(u) × 3600 core-seconds))
 * </pre>
 * Guests run at the lowest CPU priority, so they get what the owner leaves
 * (load that is not guests' is the owner's), up to the guest share, split
 * per thread with the guests already there. The guest share is the node
 * owner's cap ({@code herd policy set guest-cpus 0.4}), gossiped as the
 * load vector's {@code guestCpus}: a speed-10 node whose guests are capped
 * at 0.4 cores computes like a speed-4 core for a lone guest, and like a
 * speed-2 core each for two. So each of a job's CPUs runs there at
 * {@code speed × min(1, forGuests / (guests + cpus))}: never faster than the
 * node's own speed, and the job as a whole at no less than
 * {@code speed × 0.1} (a floor, so a saturated node still has a finite time).
 *
 * <h2>Constraints</h2>
 * {@link io.herd.scheduler.Constraint} documents the {@code --on} language:
 * {@code mem>=8G && speed>1.5 && label==fast}, where {@code label==X} means the
 * node carries label X ({@code herd label add X} there; gossiped, so every
 * home sees it within the gossip freshness of about 2 s), {@code label!=X}
 * that it does not, and any other unknown name is a label key. A node's
 * labels reach {@link io.herd.scheduler.HostView#labels()} as keys with an
 * empty value.
 */
package io.herd.scheduler;
