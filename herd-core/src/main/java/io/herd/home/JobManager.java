package io.herd.home;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.herd.api.proto.CancelRequest;
import io.herd.api.proto.JobLaunch;
import io.herd.api.proto.JobServiceGrpc;
import io.herd.api.proto.OfferReply;
import io.herd.api.proto.OfferRequest;
import io.herd.api.proto.RunEvent;
import io.herd.api.proto.RunInput;
import io.herd.journal.JobRecord;
import io.herd.journal.JobSpec;
import io.herd.journal.JobState;
import io.herd.journal.OutputFile;
import io.herd.journal.Journal;
import io.herd.scheduler.Assignment;
import io.herd.scheduler.Constraint;
import io.herd.scheduler.FairShare;
import io.herd.scheduler.HostView;
import io.herd.scheduler.JobRequest;
import io.herd.scheduler.LiveQueue;
import io.herd.scheduler.Moves;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The home node's side of jobs: the journal is the truth, the live queue holds
 * what waits, one dispatch loop places jobs and each attempt runs as a stream
 * to its host. Output goes to the job's log files and to any attached client.
 */
public final class JobManager implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(JobManager.class);

    /** Receives an attached job's output and end (herd run). */
    public interface Attachment {
        void stdout(byte[] data);

        void stderr(byte[] data);

        void started(String host);

        void ended(JobRecord record);
    }

    /**
     * What the home keeps of each output stream of a job ({@code -Dherd.maxLogBytes}, default
     * 256 MiB): beyond it the log says where it was cut, while an attached {@code herd run} still
     * receives everything. A runaway job cannot fill the home node's disk.
     */
    static final long MAX_LOG_BYTES = Long.getLong("herd.maxLogBytes", 256L << 20);

    private final String self;
    private final Journal journal;
    private final Clock clock;
    private final Path logs;
    private final Supplier<Collection<HostView>> hosts;
    /** When the gossiped view of a host was sampled, in this node's clock (ms), or 0 if unknown. */
    private final java.util.function.ToLongFunction<String> sampledAt;
    /**
     * Guest slots in use on each host as the host itself told this home (offer replies, job ends),
     * with when: fresher than gossip between two samples, so capacity freed by this home's own
     * jobs is used at once instead of after the next gossip round.
     */
    private final Map<String, long[]> told = new ConcurrentHashMap<>();
    private final Function<String, ManagedChannel> channelTo;
    private final Staging staging;
    /** Staging to hosts and fetching outputs: blocking work kept off the dispatcher and gRPC threads. */
    private final java.util.concurrent.ExecutorService files = java.util.concurrent.Executors.newFixedThreadPool(8, r -> {
        Thread t = new Thread(r, "herd-staging");
        t.setDaemon(true);
        return t;
    });
    /** Puts refused jobs back in the queue after their back-off. */
    private final java.util.concurrent.ScheduledExecutorService later =
            java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "herd-requeue");
                t.setDaemon(true);
                return t;
            });
    /**
     * Hosts a start could not reach, and when: passed over by placement until a gossip sample
     * newer than that arrives from them (at most {@value #UNREACHABLE_MAX_MS} ms).
     */
    private final Map<String, Long> unreachable = new ConcurrentHashMap<>();
    static final long UNREACHABLE_MAX_MS = 10_000;
    /** Refusals in a row per job, for its back-off. */
    private final Map<String, Integer> refusals = new ConcurrentHashMap<>();
    private final LiveQueue queue = new LiveQueue();
    private final FairShare fairShare = new FairShare();
    private final Map<String, JobRequest> requests = new ConcurrentHashMap<>();
    private final Map<String, Attempt> attempts = new ConcurrentHashMap<>();
    /** Attempts placed whose stream to the host is not open yet (inputs on their way). */
    private final Map<String, Attempt> starting = new ConcurrentHashMap<>();
    private final Map<String, List<Attachment>> attached = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<JobRecord>> ends = new ConcurrentHashMap<>();
    /** Told when a job's log files grew (herd logs -f); unlike attachments they never get stdin. */
    private final Map<String, List<Runnable>> outputWatchers = new ConcurrentHashMap<>();
    /** Stdin and signals that arrived before the job had an attempt to send them to. */
    private final Map<String, List<RunInput>> pendingInput = new ConcurrentHashMap<>();
    private final Semaphore wake = new Semaphore(0);
    /** Jobs their host froze now (its owner came back), with the reason: {@code herd ps} shows them frozen. */
    private final Map<String, String> frozen = new ConcurrentHashMap<>();
    /** Why a queued job's last offer was turned down, shown by ps while it waits (offers are not journalled). */
    private final Map<String, String> declined = new ConcurrentHashMap<>();
    private final Thread dispatcher;
    private volatile boolean closed;

    /** Longest wait before a job refused for a reason other than a full host is offered again. */
    static final long MAX_REFUSAL_BACKOFF_MS = 10_000;

    public JobManager(String self, Journal journal, Path logs, Clock clock, Supplier<Collection<HostView>> hosts,
                      Function<String, ManagedChannel> channelTo, Staging staging,
                      java.util.function.ToLongFunction<String> sampledAt) {
        this.self = self;
        this.sampledAt = sampledAt;
        this.staging = staging;
        this.journal = journal;
        this.logs = logs;
        this.clock = clock;
        this.hosts = hosts;
        this.channelTo = channelTo;
        this.dispatcher = new Thread(this::dispatchLoop, "herd-dispatch");
        this.dispatcher.setDaemon(true);
    }

    /** Re-queues what the journal says was not finished (after a restart) and starts dispatching. */
    public void start() {
        long now = clock.millis();
        for (JobRecord r : journal.incomplete()) {
            JobState s = r.state();
            staging.pin(r.spec().inputs());
            if (r.spec().checkpoint() != null) staging.pin(journal.checkpoint(r.id()));
            if (recover(r, now)) continue;
            if (!(s instanceof JobState.Queued)) {
                // A restarted home cannot re-attach to a running attempt: that attempt ends with this
                // home's connection on its host, and the job runs again from the start.
                journal.transition(r.id(), new JobState.Queued("the home node restarted"), now);
            }
            if (!(s instanceof JobState.Held)) enqueue(r.id(), r.user(), r.spec(), now);
        }
        dispatcher.start();
    }

    /**
     * Journals and queues a job; its inputs are snapshotted first (so it runs on the files as they
     * are now). A missing or unreadable input is refused with the file named, before anything is stored.
     */
    public String submit(String user, JobSpec spec, Attachment attach) {
        requireSatisfiable(user, spec);
        spec = withInputs(user, spec);
        long now = clock.millis();
        String id;
        try {
            id = journal.submit(user, spec, now);
        } catch (RuntimeException e) {
            staging.unpin(spec.inputs());
            throw e;
        }
        if (attach != null) attached.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(attach);
        enqueue(id, user, spec, now);
        wake.release();
        return id;
    }

    /** The spec with its inputs snapshotted into the content store and pinned; the same spec when shared. */
    JobSpec withInputs(String user, JobSpec spec) {
        if (spec.shared()) return spec;
        Path cwd = Path.of(spec.cwd() == null || spec.cwd().isBlank() ? "/" : spec.cwd());
        try {
            if (staging.actsForOthers(user) && !Files.getOwner(cwd).getName().equals(user)) {
                throw new IllegalArgumentException("herd writes outputs only into a directory you own; " + cwd
                        + " belongs to " + Files.getOwner(cwd).getName() + " (run from your own directory, or use --shared)");
            }
            List<String> named = new ArrayList<>();
            for (String p : spec.inputGlobs()) {
                // "?path": an argument that may name a file (an array item's, known after substitution).
                if (!p.startsWith("?")) {
                    named.add(p);
                } else if (!p.substring(1).isEmpty()) {
                    Path f = cwd.resolve(p.substring(1)).normalize();
                    if (f.startsWith(cwd) && !f.equals(cwd) && Files.exists(f, java.nio.file.LinkOption.NOFOLLOW_LINKS)) named.add(p.substring(1));
                }
            }
            return spec.withInputs(staging.snapshot(user, cwd, named));
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
        }
    }

    /** An array as recorded: its id and its jobs' ids in item order. */
    public record ArraySubmission(String arrayId, List<String> jobIds) {
    }

    /**
     * Records an array and all its jobs in one journal transaction and queues every job.
     *
     * @param jobs the expanded specs, in item order (see {@link io.herd.array.Expansion})
     */
    public ArraySubmission submitArray(String user, JobSpec template, List<JobSpec> jobs) {
        if (!jobs.isEmpty()) requireSatisfiable(user, jobs.get(0));
        List<JobSpec> staged = new ArrayList<>(jobs.size());
        try {
            for (JobSpec j : jobs) staged.add(withInputs(user, j));
        } catch (RuntimeException e) {
            staged.forEach(j -> staging.unpin(j.inputs()));
            throw e;
        }
        long now = clock.millis();
        String arrayId;
        try {
            arrayId = journal.submitArray(user, template, staged, now);
        } catch (RuntimeException e) {
            staged.forEach(j -> staging.unpin(j.inputs()));
            throw e;
        }
        List<JobRecord> records = new ArrayList<>(journal.list(io.herd.journal.Filter.all().array(arrayId)));
        java.util.Collections.reverse(records); // newest first -> item order
        List<String> ids = new ArrayList<>(records.size());
        for (JobRecord r : records) {
            enqueue(r.id(), user, r.spec(), now);
            ids.add(r.id());
        }
        wake.release();
        return new ArraySubmission(arrayId, ids);
    }

    /** Where the home node keeps the job's {@code stdout} and {@code stderr} (rewritten by each attempt). */
    public Path logDir(String id) {
        return logs.resolve(id);
    }

    /** Calls {@code onOutput} whenever the job's log files grow; close the result to stop. */
    public AutoCloseable watchOutput(String id, Runnable onOutput) {
        outputWatchers.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(onOutput);
        return () -> outputWatchers.computeIfPresent(id, (k, l) -> {
            l.remove(onOutput);
            return l.isEmpty() ? null : l;
        });
    }

    /**
     * Users whose jobs are no guests on this (their home) node: the daemon's user and root, as
     * the host side decides it ({@code HostJobs.isGuest}).
     */
    private static final Set<String> OWNERS = Set.copyOf(List.of(System.getProperty("user.name"), "root"));

    private JobRequest request(String id, String user, JobSpec spec) {
        Constraint c = spec.constraint() == null || spec.constraint().isBlank() ? Constraint.ALWAYS : Constraint.parse(spec.constraint());
        String pinned = spec.local() ? self : spec.pinnedNode();
        // Programs are checked by the host itself when it is offered the job.
        // Staging cost counts in placement: a host far from home pays for the inputs it must receive.
        long inputBytes = spec.inputs().stream().mapToLong(io.herd.journal.InputFile::size).sum();
        return new JobRequest(id, user, Math.max(1, spec.cpus()), spec.memBytes(), c, Set.of(), inputBytes, 1.0, pinned, self)
                .ownedAtHome(OWNERS.contains(user));
    }

    /**
     * Refuses, before anything is stored, a job no node of the cluster could ever run (a constraint
     * no node meets, more memory or cores than any node has, an unknown --node); a job that only
     * has to wait for a busy or dead node is accepted.
     */
    private void requireSatisfiable(String user, JobSpec spec) {
        io.herd.scheduler.Explanation e = io.herd.scheduler.Placement.explainUnsatisfiable(request("new", user, spec), hosts.get());
        if (e.verdict() == io.herd.scheduler.Explanation.Verdict.NEVER) {
            throw new IllegalArgumentException(e.message() + " (check the job's --on, --cpus, --mem and --node against `herd nodes`)");
        }
    }

    private void enqueue(String id, String user, JobSpec spec, long now) {
        JobRequest req = request(id, user, spec);
        requests.put(id, req);
        synchronized (queue) {
            queue.add(req, now);
        }
    }

    /** Wakes the dispatcher: capacity may have appeared (a job ended, a node joined, load fell). */
    public void capacityChanged() {
        wake.release();
    }

    private void dispatchLoop() {
        while (!closed) {
            try {
                wake.tryAcquire(1, TimeUnit.SECONDS);
                wake.drainPermits();
                dispatchOnce();
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("dispatch round failed: {}", e.toString());
            }
        }
    }

    private void dispatchOnce() {
        long now = clock.millis();
        List<Assignment> assigned;
        // The queue is single-threaded; submits (control threads) and this loop share it.
        synchronized (queue) {
            if (queue.isEmpty()) {
                assigned = null;
            } else {
                List<HostView> views = freshest(hosts.get());
                assigned = queue.dispatch(views, fairShare, now, busyUntil(now), aheadAllowed(views, now));
            }
        }
        if (assigned == null) {
            // Nothing waits: a free host may finish a running job sooner than where it runs.
            moveToFreeHosts(now);
            return;
        }
        // A job with inputs to send is offered first, so nothing is sent to a host that would refuse it.
        // Any other job is placed straight away, the whole round in one journal write: the host's
        // start is its offer, and a refusal then puts the job back without spending an attempt.
        List<Journal.Placement> direct = new ArrayList<>();
        Map<String, Assignment> byId = new java.util.HashMap<>();
        // A job sent ahead (never one with inputs) is placed as any other; its host holds the start for a slot.
        for (Assignment a : assigned) {
            JobRequest job = a.job();
            byId.put(job.id(), a);
            if (job.inputBytes() > 0) {
                offer(a, now);
            } else {
                direct.add(new Journal.Placement(job.id(), a.host()));
            }
        }
        if (direct.isEmpty()) return;
        List<Attempt> begun = new ArrayList<>();
        // Placing and registering the attempts is atomic with respect to cancel(): a job is either
        // cancelled before (and not placed) or found among the attempts (and never opened).
        synchronized (this) {
            List<JobRecord> placed;
            try {
                placed = journal.placeAll(direct, now);
            } catch (RuntimeException e) {
                log.warn("placing {} jobs failed, they wait for the next round: {}", direct.size(), e.toString());
                synchronized (queue) {
                    for (Journal.Placement p : direct) queue.add(byId.get(p.jobId()).job(), now);
                }
                return;
            }
            for (JobRecord r : placed) {
                Assignment a = byId.get(r.id());
                try {
                    JobLaunch launch = launch(r, r.attempts());
                    if (a.ahead()) launch = launch.toBuilder().setWaitForSlotMillis(AHEAD_WAIT_MS).build();
                    begun.add(new Attempt(r, a.host(), launch).expecting(a.expectedSeconds(), now));
                } catch (RuntimeException e) {
                    startFailed(r.id(), a.host(), e);
                }
            }
        }
        for (Attempt a : begun) {
            try {
                a.begin();
            } catch (RuntimeException e) {
                // One start gone wrong must not leave the round's other jobs placed and never begun.
                attempts.remove(a.job.id(), a);
                starting.remove(a.job.id(), a);
                startFailed(a.job.id(), a.host, e);
            }
        }
    }

    /** A placed job whose start failed here, before its host heard of it: placed again, or held. */
    private void startFailed(String id, String host, RuntimeException e) {
        log.warn("job {}: starting it on {} failed: {}", id, host, e.toString());
        journal.get(id).filter(x -> !x.state().terminal()).ifPresent(x ->
                requeueOrHold(x, "starting it on " + host + " failed: " + e.getMessage(), clock.millis()));
    }

    private void offer(Assignment a, long now) {
        String id = a.job().id();
        JobRecord r = journal.get(id).orElse(null);
        if (r == null || r.state().terminal()) return;
        JobLaunch launch = launch(r, r.attempts() + 1);
        OfferReply reply;
        try {
            reply = JobServiceGrpc.newBlockingStub(channelTo.apply(a.host())).withDeadlineAfter(5, TimeUnit.SECONDS)
                    .offer(OfferRequest.newBuilder().setJob(launch).build());
            if (reply.getGuestSlots() > 0) told(a.host(), reply.getGuestJobs());
        } catch (RuntimeException e) {
            reply = OfferReply.newBuilder().setAccepted(false).setReason(e.getMessage()).build();
        }
        if (!reply.getAccepted()) {
            log.info("{} refused job {}: {}", a.host(), id, reply.getReason());
            declined.put(id, "refused by " + a.host() + ": " + reply.getReason());
            // As a refused start: skipped there until its policy changes, at once for a full node, else backed off
            // (a host whose disk is full would otherwise be offered the job again every round).
            requeueRefused(r, a.host(), reply.getReason(), reply.getPolicyStamp());
            return;
        }
        declined.remove(id);
        Attempt attempt;
        synchronized (this) {
            try {
                journal.transition(id, new JobState.Placed(a.host(), launch.getAttempt()), now);
                attempt = new Attempt(r, a.host(), launch).expecting(a.expectedSeconds(), now);
            } catch (RuntimeException e) {
                // e.g. cancelled between the queue and here: the rest of the round goes on
                log.info("job {} not placed on {}: {}", id, a.host(), e.getMessage());
                return;
            }
        }
        // The host's answer counted the slot it holds for this job already.
        if (reply.getGuestSlots() > 0) attempt.countedFrom = Long.MIN_VALUE;
        attempt.begin();
    }

    /**
     * The gossiped views, each with the host's own count of its taken slots where it told this home
     * more recently, plus the attempts this home started there that the count may not include yet
     * (not yet confirmed started, or confirmed after the count was taken). Counting one twice only
     * leaves a slot idle until the next count; counting one too few makes the host refuse a start.
     * A host a start could not reach is left out until it is heard from again.
     */
    private List<HostView> freshest(Collection<HostView> views) {
        List<HostView> out = new ArrayList<>(views.size());
        Map<String, List<Long>> since = new java.util.HashMap<>();
        for (Map<String, Attempt> m : List.of(starting, attempts)) {
            for (Attempt a : m.values()) {
                // Sent ahead and waiting on its host, it holds no slot there yet.
                if (a.waitsForSlot()) continue;
                since.computeIfAbsent(a.host, k -> new ArrayList<>()).add(a.countedFrom);
            }
        }
        long now = clock.millis();
        for (HostView v : views) {
            long[] t = told.get(v.name());
            long sampled = sampledAt.applyAsLong(v.name());
            Long lost = unreachable.get(v.name());
            if (lost != null) {
                if (sampled <= lost && now - lost < UNREACHABLE_MAX_MS) continue;
                unreachable.remove(v.name(), lost);
            }
            boolean fresher = t != null && t[1] >= sampled;
            int known = fresher ? (int) t[0] : v.guestJobs();
            long asOf = fresher ? t[1] : sampled;
            int unseen = 0;
            for (long from : since.getOrDefault(v.name(), List.of())) if (from >= asOf) unseen++;
            out.add(fresher || unseen > 0 ? v.withGuestJobs(known + unseen) : v);
        }
        return out;
    }

    /**
     * Actual over expected run time of this home's finished jobs, a moving average: placement's
     * estimates are in reference seconds of an assumed job size, so their scale is learned here.
     */
    private volatile double runRatio = 1;

    private void learnRunTime(Attempt a, long now) {
        double expected = a.expectedSeconds;
        if (!(expected > 0) || now <= a.placedAt) return;
        double r = Math.max(0.1, Math.min(100, (now - a.placedAt) / 1000.0 / expected));
        runRatio = 0.8 * runRatio + 0.2 * r;
        learnedRuns.incrementAndGet();
    }

    /**
     * For each host running this home's jobs: the seconds, in placement's units, until each is
     * expected to end (for {@link io.herd.scheduler.LiveQueue#dispatch(Collection, FairShare, long, Map)};
     * each by {@link io.herd.scheduler.LiveQueue#secondsUntilEnd}).
     */
    private Map<String, double[]> busyUntil(long now) {
        Map<String, List<Double>> running = new java.util.HashMap<>();
        Map<String, List<Double>> waiting = new java.util.HashMap<>();
        double ratio = runRatio;
        for (Map<String, Attempt> m : List.of(starting, attempts)) {
            for (Attempt a : m.values()) {
                if (!(a.expectedSeconds > 0)) continue;
                double elapsed = Math.max(0, now - a.placedAt) / 1000.0 / ratio;
                // Sent ahead and waiting on its host: it takes a running job's slot (see LiveQueue.slotReleases).
                (a.waitsForSlot() ? waiting : running).computeIfAbsent(a.host, k -> new ArrayList<>())
                        .add(LiveQueue.secondsUntilEnd(a.expectedSeconds, elapsed));
            }
        }
        Map<String, double[]> out = new java.util.HashMap<>();
        for (String h : running.keySet()) out.put(h, LiveQueue.slotReleases(seconds(running.get(h)), seconds(waiting.get(h))));
        waiting.forEach((h, l) -> out.putIfAbsent(h, LiveQueue.slotReleases(new double[0], seconds(l))));
        return out;
    }

    private static double[] seconds(List<Double> l) {
        return l == null ? new double[0] : l.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * Jobs are sent ahead (see {@link LiveQueue}, "Sending ahead") only to a host where this home's
     * jobs run briefly: their runs there average less than this, and one of those running there
     * now has run less than this. A job sent ahead then waits there about one such run at most.
     */
    static final long AHEAD_RUN_MS = 250;
    /** {@code -Dherd.send-ahead=false} turns sending ahead off (for A/B measurements). */
    static final boolean SEND_AHEAD = !"false".equals(System.getProperty("herd.send-ahead"));
    /** How long a host may hold a job sent ahead for a slot; then it gives it back and it is placed again. */
    static final int AHEAD_WAIT_MS = 2_000;
    /** The recent run time of this home's jobs on each host, a moving average of their real milliseconds. */
    private final Map<String, Double> runMillis = new ConcurrentHashMap<>();

    /**
     * For each host where this home's jobs run briefly (see {@link #AHEAD_RUN_MS}): how many more jobs
     * it may be sent ahead, one per slot, less those sent ahead that wait there now.
     */
    private Map<String, Integer> aheadAllowed(List<HostView> views, long now) {
        if (!SEND_AHEAD || runMillis.isEmpty()) return Map.of();
        Map<String, Integer> waiting = new java.util.HashMap<>();
        Set<String> brief = new java.util.HashSet<>();
        for (Map<String, Attempt> m : List.of(starting, attempts)) {
            for (Attempt a : m.values()) {
                if (a.waitsForSlot()) waiting.merge(a.host, 1, Integer::sum);
                else if (a.started && now - a.startedAt < AHEAD_RUN_MS) brief.add(a.host);
            }
        }
        Map<String, Integer> out = new java.util.HashMap<>();
        for (HostView v : views) {
            Double run = runMillis.get(v.name());
            if (run == null || run >= AHEAD_RUN_MS || !brief.contains(v.name())) continue;
            int left = v.guestSlots() - waiting.getOrDefault(v.name(), 0);
            if (left > 0) out.put(v.name(), left);
        }
        return out;
    }

    private void learnRunMillis(String host, long millis) {
        runMillis.merge(host, (double) millis, (old, now) -> 0.8 * old + 0.2 * now);
    }

    /** Jobs moved once (never again: no hopping), until they end. */
    private final Set<String> moved = ConcurrentHashMap.newKeySet();
    /** Moves under way (evicted, not yet placed again), by when they were asked for: none is planned meanwhile. */
    private final Map<String, Long> moving = new ConcurrentHashMap<>();
    /** A move not placed again within this long no longer holds the others back (e.g. it was held). */
    private static final long MOVING_MAX_MS = 30_000;
    /** Finished runs this home has learned its run-time scale from; before a few, estimates are guesses. */
    private final java.util.concurrent.atomic.AtomicInteger learnedRuns = new java.util.concurrent.atomic.AtomicInteger();
    static final int MOVE_AFTER_LEARNED = 3;

    /**
     * With nothing queued, moves running jobs of this home to hosts with a free slot where they
     * would finish sooner, started again (see {@link Moves}): the host evicts the job, saving its
     * checkpoint if it has one, and it is placed again without spending a retry. Only batch jobs
     * (not attached to a terminal) that are not pinned, have not moved before, have not run past
     * their estimate, and run in a sandbox directory of their own (a {@code --shared} job only if
     * it checkpoints: a restart in place would start over what it wrote); one round of moves at a
     * time. Cheap when there is nothing to move: the dispatcher calls it on every wake-up with an
     * empty queue. A move whose eviction fails is not tried again.
     */
    private void moveToFreeHosts(long now) {
        if (attempts.isEmpty() || learnedRuns.get() < MOVE_AFTER_LEARNED) return;
        moving.values().removeIf(t -> now - t > MOVING_MAX_MS);
        if (!moving.isEmpty()) return;
        double ratio = runRatio;
        List<Moves.Running> running = new ArrayList<>();
        for (Attempt a : attempts.values()) {
            String id = a.job.id();
            if (!a.started || a.cancelled || !(a.expectedSeconds > 0) || moved.contains(id) || attached.containsKey(id)) continue;
            // A --shared job restarts in place over what it has written so far: only when it resumes from a checkpoint.
            if (a.job.spec().shared() && a.job.spec().checkpointMode() == null) continue;
            JobRequest req = requests.get(id);
            if (req == null || req.pinnedNode() != null) continue;
            double remaining = a.expectedSeconds - Math.max(0, now - a.placedAt) / 1000.0 / ratio;
            if (remaining > 0) running.add(new Moves.Running(req, a.host, remaining));
        }
        if (running.isEmpty()) return;
        for (Moves.Move m : Moves.plan(running, freshest(hosts.get()))) {
            moved.add(m.jobId());
            moving.put(m.jobId(), now);
            String why = String.format(java.util.Locale.ROOT, "moved: %s would run it in about %.0f s, it had about %.0f s to go on %s",
                    m.to(), m.thereSeconds() * ratio, m.remainingSeconds() * ratio, m.from());
            files.execute(() -> {
                try {
                    boolean found = JobServiceGrpc.newBlockingStub(channelTo.apply(m.from())).withDeadlineAfter(10, TimeUnit.SECONDS)
                            .cancel(CancelRequest.newBuilder().setJobId(m.jobId()).setEvictReason(why).build()).getFound();
                    if (found) log.info("job {}: {}", m.jobId(), why);
                    else moving.remove(m.jobId());
                } catch (RuntimeException e) {
                    moving.remove(m.jobId());
                    log.info("job {}: could not move it from {}: {}", m.jobId(), m.from(), e.toString());
                }
            });
        }
    }

    private void told(String host, int guestJobs) {
        told.put(host, new long[] {guestJobs, clock.millis()});
    }

    private JobLaunch launch(JobRecord r, int attempt) {
        JobSpec s = r.spec();
        JobLaunch.Builder b = JobLaunch.newBuilder().setJobId(r.id()).setAttempt(attempt).setUser(r.user())
                .addAllArgv(s.argv()).putAllEnv(s.env()).setCwd(s.cwd() == null ? "" : s.cwd()).setShared(s.shared())
                .setCpus(Math.max(1, s.cpus())).setMemBytes(s.memBytes()).addAllNeeds(s.needs())
                .setStdin(attached.containsKey(r.id())).addAllInputs(Staging.staged(s.inputs()))
                .addAllOutputGlobs(s.outputGlobs()).setNet(s.net());
        io.herd.journal.Checkpoint mode = s.checkpointMode();
        if (mode != null) {
            b.setCheckpointSignal(mode.signal());
            if (!s.shared()) b.addAllResume(Staging.staged(journal.checkpoint(r.id())));
        }
        return b.build();
    }

    /** What a host must hold before the job starts there: its inputs and, if it checkpointed, its saved files. */
    private static List<io.herd.journal.InputFile> filesToSend(JobRecord job, JobLaunch launch) {
        if (launch.getResumeCount() == 0) return job.spec().inputs();
        List<io.herd.journal.InputFile> all = new ArrayList<>(job.spec().inputs());
        for (io.herd.api.proto.StagedFile f : launch.getResumeList()) {
            all.add(new io.herd.journal.InputFile(f.getPath(), f.getSha256(), f.getSize(), f.getMode()));
        }
        return all;
    }

    /** One attempt of a job on one host. */
    private final class Attempt implements StreamObserver<RunEvent> {
        final JobRecord job;
        final String host;
        final JobLaunch launch;
        volatile StreamObserver<RunInput> toHost;
        final LogFile out;
        final LogFile err;
        /**
         * From when on the host's counts of its slots surely include this attempt: its slot is taken
         * when the start reaches the host, and known taken here once the host says it started. Until
         * then this home counts the attempt itself ({@link #freshest}). Long.MIN_VALUE: an offer's
         * answer counted it.
         */
        volatile long countedFrom = Long.MAX_VALUE;
        volatile boolean started;
        /** When the host's word that it started arrived. */
        volatile long startedAt;
        /** Cancelled before its stream opened: it never starts. */
        volatile boolean cancelled;
        /** The host has answered the start (started, frozen, output or end). */
        volatile boolean heard;
        /** Placement's expected seconds for it (NaN: not known, e.g. re-attached after a restart) and when it was placed. */
        volatile double expectedSeconds = Double.NaN;
        volatile long placedAt;

        /** Sent ahead, and its host has not started it yet: it waits there for a slot. */
        boolean waitsForSlot() {
            return launch.getWaitForSlotMillis() > 0 && !started;
        }

        Attempt expecting(double seconds, long now) {
            expectedSeconds = seconds;
            placedAt = now;
            return this;
        }

        Attempt(JobRecord job, String host, JobLaunch launch) {
            this.job = job;
            this.host = host;
            this.launch = launch;
            Path dir = logs.resolve(job.id());
            out = new LogFile(job.id(), "stdout", dir.resolve("stdout"), MAX_LOG_BYTES);
            err = new LogFile(job.id(), "stderr", dir.resolve("stderr"), MAX_LOG_BYTES);
            starting.put(job.id(), this);
            moving.remove(job.id());   // placed again
        }

        /** Sends the inputs the host lacks, then starts the attempt's stream. */
        void begin() {
            List<io.herd.journal.InputFile> send = filesToSend(job, launch);
            if (send.isEmpty()) {
                open();
                return;
            }
            files.execute(() -> {
                try {
                    staging.sendInputs(host, send);
                } catch (IOException | RuntimeException e) {
                    closeLogs();
                    starting.remove(job.id(), this);
                    attempts.remove(job.id());
                    log.warn("job {}: staging its inputs to {} failed: {}", job.id(), host, e.toString());
                    journal.get(job.id()).filter(r -> !r.state().terminal())
                            .ifPresent(r -> requeueOrHold(r, "staging inputs to " + host + " failed: " + e.getMessage(), clock.millis()));
                    return;
                }
                open();
            });
        }

        private void open() {
            String noChannel = null;
            synchronized (JobManager.this) {
                starting.remove(job.id(), this);
                if (cancelled) {
                    closeLogs();
                    return;
                }
                ManagedChannel channel;
                try {
                    channel = channelTo.apply(host);
                } catch (RuntimeException e) {
                    // The host left the cluster since it was chosen (removed, or gone from the node list):
                    // registered without a stream, the attempt would wait for an end that never comes.
                    channel = null;
                    noChannel = e.getMessage();
                }
                if (channel != null) {
                    attempts.put(job.id(), this);
                    toHost = JobServiceGrpc.newStub(channel).run(this);
                    toHost.onNext(RunInput.newBuilder().setStart(launch).build());
                    // A re-run gets the stdin buffered so far; its first attempt consumed what it read.
                    List<RunInput> early = pendingInput.get(job.id());
                    if (early != null) early.forEach(toHost::onNext);
                    return;
                }
            }
            closeLogs();
            notReached("cannot reach it: " + noChannel, clock.millis());
        }

        /**
         * The start never reached the host (dead, gone, not listening, no longer in the cluster): as a
         * refusal, nothing ran and the attempt is not spent; the host is passed over until it is heard
         * from again.
         */
        private void notReached(String why, long now) {
            unreachable.put(host, now);
            log.info("job {}: {} {}; placing it again", job.id(), host, why);
            if (journal.refused(job.id(), launch.getAttempt(), why, now)) requeueRefused(job, host, why, 0);
        }

        /**
         * Ends the attempt's stream: the host kills the job if it runs and, if the start is still
         * on its way (staging inputs, forking), kills it the moment it starts. A cancel request
         * alone finds nothing to kill in that window, and the job would run on, unowned.
         */
        void abort(String why) {
            synchronized (this) {
                if (toHost instanceof io.grpc.stub.ClientCallStreamObserver<RunInput> call) call.cancel(why, null);
            }
        }

        void input(RunInput in) {
            synchronized (this) {
                if (toHost != null) toHost.onNext(in);
            }
        }

        @Override
        public void onNext(RunEvent e) {
            heard = true;
            long now = clock.millis();
            try {
                switch (e.getKindCase()) {
                    case STARTED -> {
                        startedAt = now;
                        started = true;
                        if (countedFrom == Long.MAX_VALUE) countedFrom = now;
                        refusals.remove(job.id());
                        journal.transition(job.id(), new JobState.Running(host, launch.getAttempt(), now), now);
                        forEach(a -> a.started(host));
                    }
                    case STDOUT -> {
                        byte[] b = e.getStdout().toByteArray();
                        out.write(b);
                        forEach(a -> a.stdout(b));
                        outputGrew();
                    }
                    case STDERR -> {
                        byte[] b = e.getStderr().toByteArray();
                        err.write(b);
                        forEach(a -> a.stderr(b));
                        outputGrew();
                    }
                    case EXITED -> ended(e.getExited(), now);
                    case FROZEN -> {
                        if (e.getFrozen().getFrozen()) frozen.put(job.id(), e.getFrozen().getReason() + " on " + host);
                        else frozen.remove(job.id());
                        log.info("job {} on {}: {}", job.id(), host, e.getFrozen().getReason());
                    }
                    default -> { }
                }
            } catch (RuntimeException ex) {
                log.warn("job {}: handling an event from {} failed: {}", job.id(), host, ex.toString());
                if (e.getKindCase() == RunEvent.KindCase.EXITED) endNotHandled(ex, now);
            }
        }

        /**
         * The attempt's end could not be taken in (a bug, a host's report this home cannot use, the
         * journal refusing): the attempt is gone from the running ones, so the job would stay as it
         * is for ever, and {@code herd wait} with it. It is placed again instead, or held once its
         * retries are spent, with the reason in {@code herd ps}; its outputs are never half
         * committed (they are taken in once, when the attempt that made them ends done).
         */
        private void endNotHandled(RuntimeException ex, long now) {
            attempts.remove(job.id(), this);
            journal.get(job.id()).filter(r -> !r.state().terminal())
                    .ifPresent(r -> requeueOrHold(r, "its end on " + host + " could not be taken in: " + ex.getMessage(), now));
        }

        private void ended(io.herd.api.proto.Exited x, long now) {
            closeLogs();
            attempts.remove(job.id());
            frozen.remove(job.id());
            told(host, x.getHostGuestJobs());
            wake.release();
            if (x.getRefused()) {
                // The host would not start it: nothing ran, so the attempt is not spent.
                log.info("{} refused job {}: {}", host, job.id(), x.getError());
                if (journal.refused(job.id(), launch.getAttempt(), x.getError(), now)) {
                    requeueRefused(job, host, x.getError(), x.getPolicyStamp());
                }
                return;
            }
            JobRecord current = journal.get(job.id()).orElse(null);
            if (current == null || current.state().terminal()) return;
            if (!x.getEvicted() && x.getError().isEmpty()) {
                learnRunTime(this, now);
                if (started) learnRunMillis(host, now - startedAt);
            }
            fairShare.charge(job.user(), x.getCpuMillis() / 1000.0, now);
            if (x.getEvicted()) {
                // Not the job's failure: the attempt does not count against --max-retries.
                log.info("job {}: {}; placing it again", job.id(), x.getError());
                journal.addCpu(job.id(), x.getCpuMillis());
                if (x.getCheckpointed()) {
                    // Its saved state comes home first, so the next attempt resumes from it.
                    files.execute(() -> evicted(job.id(), x.getError()
                            + (keepCheckpoint(job, host, launch.getAttempt(), x) ? "; it resumes from its checkpoint" : "")));
                    return;
                }
                evicted(job.id(), x.getError());
                return;
            }
            if (!x.getError().isEmpty() && x.getRetry()) {
                journal.addCpu(job.id(), x.getCpuMillis());
                log.warn("job {}: {}; placing it again", job.id(), x.getError());
                requeueOrHold(current, x.getError(), now);
                return;
            }
            if (!x.getError().isEmpty()) {
                // The host ended a job that ran (out of memory): keep its exit code with the reason.
                finish(journal.transition(job.id(), new JobState.Failed(x.getError(), started ? x.getCode() : -1), now,
                        x.getCpuMillis()));
                return;
            }
            if (x.getOutputsCount() == 0) {
                finish(journal.transition(job.id(), new JobState.Done(x.getCode(), host, now), now, x.getCpuMillis()));
                return;
            }
            journal.addCpu(job.id(), x.getCpuMillis());
            files.execute(() -> bringOutputs(job, host, launch.getAttempt(), x));
        }

        @Override
        public void onError(Throwable t) {
            closeLogs();
            attempts.remove(job.id());
            frozen.remove(job.id());
            long now = clock.millis();
            JobRecord r = journal.get(job.id()).orElse(null);
            if (r == null || r.state().terminal()) return;
            if (!heard && io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.UNAVAILABLE) {
                notReached("cannot reach it: " + io.grpc.Status.fromThrowable(t).getDescription(), now);
                return;
            }
            log.warn("job {}: lost its host {} ({}); placing it again", job.id(), host, t.toString());
            requeueOrHold(r, "host " + host + " was lost", now);
        }

        @Override
        public void onCompleted() {
            closeLogs();
        }

        private void closeLogs() {
            out.close();
            err.close();
        }

        private void outputGrew() {
            List<Runnable> list = outputWatchers.get(job.id());
            if (list != null) list.forEach(Runnable::run);
        }

        private void forEach(java.util.function.Consumer<Attachment> f) {
            List<Attachment> list = attached.get(job.id());
            if (list != null) list.forEach(f);
        }
    }

    /**
     * The outputs of a finished attempt, exactly once: recorded in the journal, fetched from the
     * host, written into the user's directory each atomically, then committed and done.
     */
    private void bringOutputs(JobRecord job, String host, int attempt, io.herd.api.proto.Exited x) {
        List<OutputFile> outs = new ArrayList<>();
        Map<String, Integer> modes = new java.util.HashMap<>();
        for (io.herd.api.proto.StagedFile f : x.getOutputsList()) {
            outs.add(new OutputFile(f.getPath(), f.getSha256(), f.getSize()));
            modes.put(f.getPath(), f.getMode());
        }
        String id = job.id();
        try {
            journal.recordOutputs(id, attempt, outs, clock.millis());
            Files.writeString(Files.createDirectories(logs.resolve(id)).resolve("exit-" + attempt), Integer.toString(x.getCode()));
        } catch (RuntimeException | IOException e) {
            log.info("job {}: outputs of attempt {} not recorded: {}", id, attempt, e.getMessage());
            return; // cancelled or re-placed meanwhile: these outputs are stale
        }
        Map<String, Path> blobs;
        try {
            blobs = staging.fetchOutputs(host, id, attempt, outs);
        } catch (IOException | RuntimeException e) {
            log.warn("job {}: fetching its outputs from {} failed: {}", id, host, e.toString());
            journal.get(id).filter(r -> !r.state().terminal())
                    .ifPresent(r -> requeueOrHold(r, "fetching outputs from " + host + " failed: " + e.getMessage(), clock.millis()));
            return;
        }
        commitOutputs(job, host, attempt, x.getCode(), outs, modes, blobs);
    }

    /** An evicted job goes back to the queue without spending one of its retries. */
    private void evicted(String id, String why) {
        JobRecord r = journal.get(id).orElse(null);
        if (r == null || r.state().terminal()) return;
        journal.forgiveAttempt(id);
        requeueOrHold(journal.get(id).orElse(r), why, clock.millis());
    }

    /**
     * Fetches the files an evicted attempt saved ({@code --checkpoint signal}) into this node's
     * content store and records them as the job's latest checkpoint. If they cannot be fetched
     * the job resumes from its previous checkpoint, or starts again.
     *
     * @return whether the checkpoint was kept
     */
    private boolean keepCheckpoint(JobRecord job, String host, int attempt, io.herd.api.proto.Exited x) {
        String id = job.id();
        List<OutputFile> outs = new ArrayList<>();
        for (io.herd.api.proto.StagedFile f : x.getOutputsList()) outs.add(new OutputFile(f.getPath(), f.getSha256(), f.getSize()));
        List<io.herd.journal.InputFile> saved = new ArrayList<>();
        try {
            Map<String, Path> blobs = staging.fetchOutputs(host, id, attempt, outs);
            for (io.herd.api.proto.StagedFile f : x.getOutputsList()) {
                String sha = staging.store().put(blobs.get(f.getSha256()));
                if (!sha.equals(f.getSha256())) throw new IOException(f.getPath() + " arrived with another content (sha256 " + sha + ")");
                staging.store().pin(sha);
                saved.add(new io.herd.journal.InputFile(f.getPath(), sha, f.getSize(), f.getMode() & 0777));
            }
        } catch (IOException | RuntimeException e) {
            saved.forEach(f -> staging.store().unpin(f.sha256()));
            log.warn("job {}: its checkpoint could not be fetched from {} ({}); it resumes from its previous one", id, host, e.toString());
            return false;
        } finally {
            staging.discardFetched(id, attempt);
        }
        List<io.herd.journal.InputFile> replaced;
        try {
            replaced = journal.checkpointed(id, attempt, saved, clock.millis());
        } catch (RuntimeException e) {
            replaced = null;
            log.warn("job {}: its checkpoint could not be recorded: {}", id, e.getMessage());
        }
        staging.unpin(replaced == null ? saved : replaced);
        if (replaced != null) log.info("job {}: checkpoint of attempt {} kept ({} files)", id, attempt, saved.size());
        return replaced != null;
    }

    private void commitOutputs(JobRecord job, String host, int attempt, int code, List<OutputFile> outs,
                               Map<String, Integer> modes, Map<String, Path> blobs) {
        String id = job.id();
        long now = clock.millis();
        List<io.herd.transfer.Manifest.FileEntry> replaceable = new ArrayList<>();
        for (io.herd.journal.InputFile f : job.spec().inputs()) {
            replaceable.add(new io.herd.transfer.Manifest.FileEntry(f.path(), f.sha256(), f.size(), f.mode()));
        }
        // What an earlier attempt of this job recorded (and perhaps half wrote before a crash) is ours to replace.
        for (int a = 1; a < attempt; a++) {
            for (OutputFile f : journal.outputs(id, a)) {
                replaceable.add(new io.herd.transfer.Manifest.FileEntry(f.path(), f.sha256(), f.size(), 0644));
            }
        }
        Path cwd = Path.of(job.spec().cwd());
        try {
            String chosen = job.spec().onCollision();
            io.herd.transfer.CollisionPolicy policy = chosen == null ? io.herd.transfer.CollisionPolicy.RECOMMENDED
                    : io.herd.transfer.CollisionPolicy.valueOf(chosen.toUpperCase(java.util.Locale.ROOT));
            staging.commit(job.user(), cwd, outs, modes, replaceable, blobs, policy);
        } catch (io.herd.transfer.OutputCollisionException e) {
            fail(id, "output collision: " + e.getMessage(), code, now);
            return;
        } catch (IOException | RuntimeException e) {
            fail(id, "cannot write the outputs into " + cwd + ": " + e.getMessage()
                    + " (they are kept in " + logs.resolve(id) + "; free space or fix permissions, then run the job again)", code, now);
            return;
        }
        JobRecord done;
        try {
            journal.commitOutputs(id, attempt, now);
            done = journal.transition(id, new JobState.Done(code, host, now), now);
        } catch (RuntimeException e) {
            log.info("job {}: attempt {} finished but the job moved on: {}", id, attempt, e.getMessage());
            return;
        }
        staging.discardFetched(id, attempt);
        finish(done);
    }

    private void fail(String id, String why, int code, long now) {
        log.warn("job {}: {}", id, why);
        JobRecord failed;
        try {
            failed = journal.transition(id, new JobState.Failed(why, code), now);
        } catch (RuntimeException e) {
            return;
        }
        finish(failed);
    }

    /**
     * After a restart: finishes a job whose last attempt had ended and whose outputs were being
     * committed (its results are never produced twice). Returns false for jobs to run again.
     */
    private boolean recover(JobRecord r, long now) {
        int attempt = r.state() instanceof JobState.Running run ? run.attempt() : -1;
        if (attempt < 0) return false;
        String host = ((JobState.Running) r.state()).host();
        int code = exitCode(r.id(), attempt);
        if (journal.committedAttempt(r.id()).isPresent()) {
            journal.transition(r.id(), new JobState.Done(Math.max(code, 0), host, now), now);
            releaseInputs(r);
            return true;
        }
        List<OutputFile> outs = journal.outputs(r.id(), attempt);
        if (outs.isEmpty() || code < 0) return false;
        Map<String, Path> blobs = staging.fetchedOutputs(r.id(), attempt, outs);
        if (blobs == null) return false;
        log.info("job {}: finishing the commit of attempt {} interrupted by the restart", r.id(), attempt);
        commitOutputs(r, host, attempt, code, outs, Map.of(), blobs);
        return true;
    }

    private int exitCode(String id, int attempt) {
        try {
            return Integer.parseInt(Files.readString(logs.resolve(id).resolve("exit-" + attempt)).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    /**
     * A job's stdout or stderr log at home: written up to a bound, then a note saying what was
     * dropped; a write error (disk full) stops the log, never the job. The file is created with
     * the attempt's first output: most jobs of a big array print nothing, and creating two files
     * (and their directory) for each cost the home more CPU than the rest of its dispatch. A
     * missing log reads as empty. What an earlier attempt wrote is removed when the next starts,
     * so the log is always the latest attempt's.
     */
    static final class LogFile {
        private final String job;
        private final String name;
        private final Path file;
        private final long max;
        private OutputStream out;
        private long written;
        private long dropped;
        private boolean broken;
        private boolean closed;

        LogFile(String job, String name, Path file, long max) {
            this.job = job;
            this.name = name;
            this.file = file;
            this.max = max;
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                broken = true;
                log.warn("job {}: its {} log of an earlier attempt cannot be removed, this attempt's is not kept: {}",
                        job, name, e.toString());
            }
        }

        synchronized void write(byte[] b) {
            if (broken || closed) return;
            long room = max - written;
            int keep = (int) Math.max(0, Math.min(room, b.length));
            dropped += b.length - keep;
            try {
                if (keep > 0) open().write(b, 0, keep);
                written += keep;
            } catch (IOException e) {
                broken = true;
                log.warn("job {}: its {} log stops here, it cannot be written: {}", job, name, e.toString());
            }
        }

        /** Unbuffered: each chunk from the host is written as it comes, so `herd logs -f` sees it at once. */
        private OutputStream open() throws IOException {
            if (out == null) {
                Files.createDirectories(file.getParent());
                out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
            }
            return out;
        }

        synchronized void close() {
            if (closed) return;
            closed = true;
            try {
                if (dropped > 0 && !broken) {
                    open().write(("\n[herd: " + name + " passed " + max + " bytes; the remaining " + dropped
                            + " bytes were not kept]\n").getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                if (out != null) out.close();
            } catch (IOException e) {
                log.warn("job {}: closing its {} log failed: {}", job, name, e.toString());
            }
        }
    }

    /**
     * Back in the queue after a refusal. A host that had no free slot after all is told about
     * (its count came with the refusal), and one whose owner's policy refused the job is skipped
     * until that policy changes, so the job may go again at once; any other refusal (a missing
     * program) waits, longer each time in a row — 250 ms
     * doubling up to {@value #MAX_REFUSAL_BACKOFF_MS} ms — so a job every host refuses
     * does not churn the journal.
     */
    private void requeueRefused(JobRecord job, String host, String why, long policyStamp) {
        JobRequest known = requests.get(job.id());
        if (known == null) return;
        // Refused by the host's policy for good: not placed there again until that policy changes,
        // so the job may go elsewhere at once.
        JobRequest req = policyStamp != 0 ? known.refusedBy(host, policyStamp) : known;
        if (policyStamp != 0) requests.put(job.id(), req);
        Runnable back = () -> {
            synchronized (queue) {
                if (journal.get(job.id()).map(r -> r.state() instanceof JobState.Queued).orElse(false)) {
                    queue.add(req, job.submittedMs());
                }
            }
            wake.release();
        };
        if (policyStamp != 0 || unreachable.containsKey(host) || why.startsWith(io.herd.host.HostJobs.NO_FREE_SLOT)) {
            back.run();
            return;
        }
        long delay = refusalBackoffMs(refusals.merge(job.id(), 1, Integer::sum));
        try {
            later.schedule(back, delay, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** How long a job waits before it is placed again after its {@code inARow}-th refusal in a row (1, 2, …). */
    static long refusalBackoffMs(int inARow) {
        if (inARow < 1) throw new IllegalArgumentException("refusals in a row start at 1, not " + inARow);
        return Math.min(MAX_REFUSAL_BACKOFF_MS, 250L << Math.min(inARow - 1, 10));
    }

    private void requeueOrHold(JobRecord r, String why, long now) {
        if (r.retriesExhausted()) {
            // Held is entered from the queue (the journal's state machine): back to queued, then held.
            if (!(r.state() instanceof JobState.Queued)) journal.transition(r.id(), new JobState.Queued(why), now);
            journal.transition(r.id(), new JobState.Held("failed on " + r.attempts() + " hosts; last: " + why), now);
            finish(r.id());
        } else {
            journal.transition(r.id(), new JobState.Queued(why), now);
            JobRequest req = requests.get(r.id());
            if (req != null) {
                synchronized (queue) {
                    queue.add(req, r.submittedMs());
                }
            }
            wake.release();
        }
    }

    /** A finished job's files leave the store's keeping: its inputs and its last checkpoint. */
    private void releaseInputs(JobRecord r) {
        staging.unpin(r.spec().inputs());
        if (r.spec().checkpoint() != null) staging.unpin(journal.checkpoint(r.id()));
    }

    private void finish(String id) {
        finish(journal.get(id).orElseThrow());
    }

    /** What follows a job's change of state: {@code r} is its record as the journal now has it. */
    private void finish(JobRecord r) {
        String id = r.id();
        if (r.state().terminal()) releaseInputs(r);
        List<Attachment> list = attached.remove(id);
        if (list != null) list.forEach(a -> a.ended(r));
        CompletableFuture<JobRecord> f = ends.remove(id);
        if (f != null) f.complete(r);
        requests.remove(id);
        refusals.remove(id);
        declined.remove(id);
        pendingInput.remove(id);
        moved.remove(id);
        moving.remove(id);
    }

    /** Stdin and signals from an attached client; kept until the job has a host to send them to. */
    public synchronized void input(String id, RunInput in) {
        Attempt a = attempts.get(id);
        if (a != null) {
            a.input(in);
        } else if (!in.hasSignal()) {
            pendingInput.computeIfAbsent(id, k -> new ArrayList<>()).add(in);
        }
    }

    public boolean cancel(String id, String by) {
        JobRecord r = journal.get(id).orElse(null);
        if (r == null || r.state().terminal()) return false;
        long now = clock.millis();
        synchronized (queue) {
            queue.remove(id);
        }
        Attempt a;
        synchronized (this) {
            // With the dispatcher's placing, as one step: see dispatchOnce().
            journal.transition(id, new JobState.Cancelled(by), now);
            a = attempts.remove(id);
            Attempt opening = starting.get(id);
            if (opening != null) opening.cancelled = true;
        }
        if (a != null) {
            try {
                JobServiceGrpc.newBlockingStub(channelTo.apply(a.host)).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .cancel(CancelRequest.newBuilder().setJobId(id).build());
            } catch (RuntimeException e) {
                log.warn("cancel of {} on {} failed: {}", id, a.host, e.toString());
            }
            a.abort("job " + id + " cancelled by " + by);
        }
        finish(id);
        return true;
    }

    /** Why the job's host froze it, or null when it is not frozen. */
    public String frozenReason(String id) {
        return frozen.get(id);
    }

    /** Why the job's last offer was turned down ("refused by HOST: its disk is full …"), while it waits; else null. */
    public String declinedReason(String id) {
        return declined.get(id);
    }

    /**
     * {@code herd home ID}: the job runs at its home node from now on. A running attempt on
     * another node is evicted (killed there, placed again here without counting against its
     * retries); a waiting job is pinned here. The pin is journaled (the job's spec names this node
     * and no longer its {@code --on}), so it outlives a restart.
     *
     * @return what happened, one line for the user
     * @throws java.util.NoSuchElementException when there is no such job
     * @throws IllegalArgumentException         when it has ended
     */
    public String sendHome(String id, String by) {
        JobRecord r = journal.get(id).orElseThrow(() -> new java.util.NoSuchElementException("no job " + id + " on this node; see `herd ps --all`"));
        if (r.state().terminal()) throw new IllegalArgumentException("job " + id + " has ended (" + r.state().name() + "); nothing to send home");
        journal.pin(id, self, by, clock.millis());
        JobRequest old = requests.get(id);
        if (old != null) {
            // The user named the node: its --on constraint no longer applies (it may exclude home).
            JobRequest pinned = new JobRequest(old.id(), old.user(), old.cpus(), old.memBytes(), Constraint.ALWAYS, old.needs(),
                    old.inputBytes(), old.work(), self, old.homeNode());
            requests.put(id, pinned);
            synchronized (queue) {
                if (queue.remove(id)) queue.add(pinned, r.submittedMs());
            }
        }
        Attempt a = attempts.get(id);
        if (a == null || a.host.equals(self)) {
            wake.release();
            return a == null ? "job " + id + " will run here at its home node" : "job " + id + " already runs here at its home node";
        }
        boolean found;
        try {
            found = JobServiceGrpc.newBlockingStub(channelTo.apply(a.host)).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .cancel(CancelRequest.newBuilder().setJobId(id).setEvictReason("evicted: sent home by " + by).build()).getFound();
        } catch (RuntimeException e) {
            throw new IllegalStateException("could not reach " + a.host + " to send job " + id + " home: " + e.getMessage(), e);
        }
        return found ? "job " + id + " evicted from " + a.host + "; it runs again here at its home node"
                : "job " + id + " was not running on " + a.host + " any more; it will run here at its home node";
    }

    /** Completes when the job reaches a terminal state. */
    public CompletableFuture<JobRecord> whenDone(String id) {
        CompletableFuture<JobRecord> f = ends.computeIfAbsent(id, k -> new CompletableFuture<>());
        journal.get(id).filter(r -> r.state().terminal() || r.state() instanceof JobState.Held).ifPresent(r -> {
            ends.remove(id);
            f.complete(r);
        });
        return f;
    }

    @Override
    public void close() {
        closed = true;
        files.shutdownNow();
        later.shutdownNow();
        dispatcher.interrupt();
    }
}
