package io.herd.host;

import com.google.protobuf.ByteString;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.herd.api.proto.CancelReply;
import io.herd.api.proto.CancelRequest;
import io.herd.api.proto.Exited;
import io.herd.api.proto.JobLaunch;
import io.herd.api.proto.JobServiceGrpc;
import io.herd.api.proto.OfferReply;
import io.herd.api.proto.OfferRequest;
import io.herd.api.proto.RunEvent;
import io.herd.api.proto.RunInput;
import io.herd.api.proto.Started;
import io.herd.executor.ExitStatus;
import io.herd.journal.Checkpoint;
import io.herd.executor.LaunchException;
import io.herd.executor.LaunchSpec;
import io.herd.executor.OutputSink;
import io.herd.executor.ProcessRunner;
import io.herd.executor.RunningProcess;
import io.herd.api.proto.StagedFile;
import io.herd.transfer.ContentStore;
import io.herd.transfer.Manifest;
import io.herd.transfer.OutputCollector;
import io.herd.transfer.SandboxFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import io.herd.api.RequireClusterCertificate;
import io.herd.policy.Admission;
import io.herd.policy.Policy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host side of jobs: admits offers against this node's own, fresher view
 * (for guests the owner's policy first: lock, accept rule, users, nodes,
 * memory; then free guest slots, programs present), runs accepted jobs through the
 * executor and streams their output back to the home node with flow control
 * (a slow home slows the job's output, it never fills this node's memory).
 */
public final class HostJobs extends JobServiceGrpc.JobServiceImplBase implements io.herd.owner.Guests {

    private static final Logger log = LoggerFactory.getLogger(HostJobs.class);
    static final long LEASE_MILLIS = 10_000;

    private final String nodeName;
    private final Path sandboxRoot;
    private final ProcessRunner runner;
    /** Sandboxes kept between guests' jobs, or null where guests get a fresh one each. */
    private final io.herd.executor.WarmSandboxes warm;
    private final ContentStore store;
    private final int slots;
    private final Clock clock;
    /** Jobs holding a slot: running, or offered and not yet started (until the lease ends). */
    private final Map<String, Long> leases = new HashMap<>();
    private final Map<String, RunningProcess> running = new ConcurrentHashMap<>();
    /** The attempts of the jobs in {@link #running}: what freezing and eviction act on. */
    private final Map<String, Attempt> attempts = new ConcurrentHashMap<>();
    /** False while the owner is back (see {@link io.herd.owner.OwnerWatch}): no new guests. */
    private volatile java.util.function.BooleanSupplier ownerAway = () -> true;
    private final Supplier<Policy> policy;
    private final Supplier<Admission.Decision> accepting;
    private final java.util.function.LongSupplier policyStamp;
    private final String daemonUser = System.getProperty("user.name");
    /** How long an evicted job asked to checkpoint has before it is killed ({@code herd.checkpointGraceMillis} in tests). */
    private final long checkpointGraceMillis = Long.getLong("herd.checkpointGraceMillis", Checkpoint.GRACE_SECONDS * 1000L);

    /**
     * @param store this node's content store: staged inputs are read from it, outputs put into it
     *              for the home node to fetch
     */
    public HostJobs(String nodeName, Path sandboxRoot, ProcessRunner runner, ContentStore store, int slots, Clock clock) {
        this(nodeName, sandboxRoot, runner, store, slots, clock, () -> Policy.DEFAULT);
    }

    /** @param policy the owner's policy now: network for guests, their default limits, unsandboxed guests */
    public HostJobs(String nodeName, Path sandboxRoot, ProcessRunner runner, ContentStore store, int slots, Clock clock,
                    Supplier<Policy> policy) {
        this(nodeName, sandboxRoot, runner, store, slots, clock, policy, () -> Admission.Decision.ACCEPTING, () -> 0);
    }

    /**
     * @param accepting   whether the node takes guests now (the owner's lock and accept rule)
     * @param policyStamp the policy's stamp now, told to a home whose job the policy refused for good
     */
    public HostJobs(String nodeName, Path sandboxRoot, ProcessRunner runner, ContentStore store, int slots, Clock clock,
                    Supplier<Policy> policy, Supplier<Admission.Decision> accepting,
                    java.util.function.LongSupplier policyStamp) {
        this.nodeName = nodeName;
        this.sandboxRoot = sandboxRoot;
        this.runner = runner;
        this.warm = runner.warmSandboxes(sandboxRoot).orElse(null);
        this.store = store;
        this.slots = slots;
        this.clock = clock;
        this.policy = policy;
        this.accepting = accepting;
        this.policyStamp = policyStamp;
    }

    /**
     * The sandbox rule: a job is a guest, and runs sandboxed, limited and (under a root daemon)
     * as the guests' account, unless it is the node owner's own job submitted here: its home is
     * this node and its user is the daemon's user or root. {@code homeNode} is the calling node
     * as its certificate names it (null: unknown, so a guest).
     */
    boolean isGuest(String homeNode, JobLaunch job) {
        boolean ownUser = job.getUser().equals(daemonUser) || job.getUser().equals("root");
        return !(nodeName.equals(homeNode) && ownUser);
    }

    /** Closes the sandboxes kept for guests (the node is stopping). */
    public void close() {
        starter.shutdownNow();
        if (warm != null) warm.close();
    }

    /** The kept sandbox for a guest's job, or null (none here, or none could be built: it gets a fresh one). */
    private io.herd.executor.WarmSandboxes.Lease keptSandbox(String home, JobLaunch job, boolean network) {
        if (warm == null) return null;
        // A --shared job's directory missing here: the launch says so (ProcessRunner.start), no sandbox is built for it.
        if (job.getShared() && !Files.isDirectory(Path.of(job.getCwd()))) return null;
        try {
            return warm.acquire(home + "/" + job.getUser(), network, job.getShared() ? Path.of(job.getCwd()) : null);
        } catch (IOException e) {
            log.warn("job {}: no kept sandbox ({}); it gets a fresh one", job.getJobId(), e.getMessage());
            return null;
        }
    }

    /** True when guests get the full sandbox here: bwrap and cgroups. */
    private boolean fullySandboxed() {
        return runner.sandbox().available() && runner.cgroups().usable();
    }

    /**
     * Why this node will not run the job as a guest, or null: first whether it takes guests at
     * all now (the owner's lock, the accept rule), then {@link #policyRefusal}.
     */
    private String guestRefusal(JobLaunch job, String homeNode) {
        Admission.Decision now = accepting.get();
        if (!now.accepting()) return "it takes no guests now: " + now.reason();
        return policyRefusal(job, homeNode);
    }

    /**
     * Why the owner's policy refuses this guest whatever the time (its user, its home node, its
     * memory, its network, an unsandboxed node), or null. Such a refusal holds until the policy
     * changes, so the home is told the policy stamp with it.
     */
    private String policyRefusal(JobLaunch job, String homeNode) {
        Policy p = policy.get();
        String listed = Admission.refuseGuest(p, job.getUser(), homeNode, job.getMemBytes());
        if (listed != null) return listed;
        if (!fullySandboxed() && !p.acceptUnsandboxed()) {
            return "this node cannot sandbox guests (" + (runner.sandbox().available() ? "" : runner.sandbox().describe() + "; ")
                    + (runner.cgroups().usable() ? "" : "cgroups not usable: " + runner.cgroups().describe() + "; ")
                    + "its owner has not allowed unsandboxed guests: herd policy set accept-unsandboxed yes)";
        }
        if (job.getNet() && !p.guestNetwork()) return "the job asks for the network (--net) and this node's policy gives guests none (guest-network no)";
        return null;
    }

    /** Tells admission whether the owner is away; until called, always. */
    public void ownerAway(java.util.function.BooleanSupplier away) {
        this.ownerAway = away;
    }

    /** Why a guest asking for so many bytes would push the owner out of memory, or null (see {@link io.herd.owner.MemoryRoom}). */
    private volatile java.util.function.LongFunction<String> ownerMemory = asked -> null;

    public void ownerMemory(java.util.function.LongFunction<String> refusal) {
        this.ownerMemory = refusal;
    }

    @Override
    public List<String> freezeAll(String reason) {
        List<String> done = new ArrayList<>();
        for (Attempt a : attempts.values()) if (a.guest && a.freeze(reason)) done.add(a.jobId);
        return done;
    }

    @Override
    public List<String> thawAll(String reason) {
        List<String> done = new ArrayList<>();
        for (Attempt a : attempts.values()) if (a.guest && a.thaw(reason)) done.add(a.jobId);
        return done;
    }

    /** A job runs, is being set up or holds an offer here: the owner watch keeps polling fast. */
    @Override
    public boolean any() {
        return !attempts.isEmpty() || inUse() > 0;
    }

    @Override
    public List<String> evictAll(String reason) {
        List<String> done = new ArrayList<>();
        for (Attempt a : attempts.values()) if (a.guest && a.evict(reason)) done.add(a.jobId);
        return done;
    }

    /** Evicts one job (guest or not): killed, reported home for placing again. False when it does not run here. */
    public boolean evict(String jobId, String reason) {
        Attempt a = attempts.get(jobId);
        return a != null && a.evict(reason);
    }


    /**
     * Slots taken now, gossiped as the node's guest jobs: jobs running, jobs being set up (inputs
     * laid out, sandbox made) and offers not yet started. What decides whether the node takes
     * another job, so homes place by the same count.
     */
    public int slotsInUse() {
        return inUse();
    }

    /** How a refusal for want of a free slot begins: the home may offer the job again at once. */
    public static final String NO_FREE_SLOT = "no free guest slot";

    /**
     * Starts sent ahead ({@code JobLaunch.wait_for_slot_millis}) that found no free slot, first
     * come first served: each takes the next slot that frees, or is refused when its wait is up.
     * At most one per slot waits; more are refused at once.
     */
    private final java.util.ArrayDeque<Attempt> waiting = new java.util.ArrayDeque<>();
    /** Starts the waiting jobs as slots free, off the thread that saw the slot free (a job's end). */
    private final java.util.concurrent.ExecutorService starter = java.util.concurrent.Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "herd-start-waiting");
        t.setDaemon(true);
        return t;
    });

    /**
     * {@link #admit}, or, for a job sent ahead that finds no free slot, queues it to wait for one
     * (null is then returned too, and {@code waits} set: the attempt starts when {@link #startWaiting}
     * gives it a slot, or is refused when its wait is up).
     */
    private synchronized String admitOrWait(Attempt a, JobLaunch job, boolean guest, String homeNode, boolean[] waits) {
        String refusal = admit(job, guest, homeNode);
        if (refusal == null || job.getWaitForSlotMillis() <= 0 || !refusal.startsWith(NO_FREE_SLOT) || waiting.size() >= slots) {
            return refusal;
        }
        waiting.add(a);
        waits[0] = true;
        long wait = job.getWaitForSlotMillis();
        try {
            CompletableFuture.delayedExecutor(wait, TimeUnit.MILLISECONDS, starter).execute(() -> waitIsUp(a, wait));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing: the node's streams end with it
        }
        return null;
    }

    /** Gives freed slots to the jobs waiting for one (see {@link #waiting}), each started on {@link #starter}. */
    private void startWaiting() {
        List<Attempt> go = new ArrayList<>(1);
        synchronized (this) {
            if (waiting.isEmpty()) return;
            long now = clock.millis();
            leases.values().removeIf(until -> until != Long.MAX_VALUE && until < now);
            while (leases.size() < slots && !waiting.isEmpty()) {
                Attempt a = waiting.poll();
                if (a.closed) continue;
                leases.put(a.jobId, now + LEASE_MILLIS);   // its slot, as an offer's: admit() lets it in
                go.add(a);
            }
        }
        for (Attempt a : go) {
            try {
                starter.execute(a::startWaited);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                release(a.jobId);   // closing
            }
        }
    }

    /** A waiting job's wait is up: it starts if a slot is free after all, else it is refused (the home places it again). */
    private void waitIsUp(Attempt a, long waited) {
        startWaiting();
        synchronized (this) {
            if (!waiting.remove(a)) return;
        }
        if (!a.closed) a.refuse(NO_FREE_SLOT + " (" + slots + " in use; waited " + waited + " ms for one)");
    }

    private synchronized void stopWaiting(Attempt a) {
        waiting.remove(a);
    }

    /** Starts sent ahead that wait for a slot now. */
    synchronized int waitingForSlots() {
        return waiting.size();
    }

    private synchronized String admit(JobLaunch job, boolean guest, String homeNode) {
        if (guest) {
            String refusal = guestRefusal(job, homeNode);
            if (refusal != null) return refusal;
            if (!ownerAway.getAsBoolean()) return "its owner is using it (guests are frozen or evicted until the owner is idle again)";
            String memory = ownerMemory.apply(job.getMemBytes());
            if (memory != null) return memory;
        }
        long now = clock.millis();
        leases.values().removeIf(until -> until != Long.MAX_VALUE && until < now);
        if (leases.containsKey(job.getJobId())) return null;
        if (leases.size() >= slots) return NO_FREE_SLOT + " (" + slots + " in use)";
        for (String prog : job.getNeedsList()) {
            if (!Programs.present(prog)) return "program '" + prog + "' is not installed here";
        }
        String full = diskFull();
        if (full != null) return full;
        leases.put(job.getJobId(), now + LEASE_MILLIS);
        return null;
    }

    /**
     * Below this much free space where sandboxes are made, the host's disk counts as full: it
     * takes no job, and a job that fails while it is full failed because of this host.
     */
    static final long DISK_FULL_BYTES = Long.getLong("herd.diskFullBytes", 4L << 20);

    /** Why this host's disk cannot take a job now, or null. */
    private String diskFull() {
        Path p = sandboxRoot;
        while (p != null && !Files.exists(p)) p = p.getParent();
        if (p == null) return null;
        try {
            long free = store(p).getUsableSpace();
            return free < DISK_FULL_BYTES ? "its disk is full (" + (free >> 10) + " KiB free under " + p + ")" : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * The file system holding {@code p}, kept: {@code Files.getFileStore} reads the whole mount
     * table each time (1.4 % of a host's CPU on an array of short jobs), the free space is
     * still read at every check.
     */
    private java.nio.file.FileStore store(Path p) throws IOException {
        KeptStore kept = fileStore;
        if (kept != null && kept.path().equals(p)) return kept.store();
        java.nio.file.FileStore fs = Files.getFileStore(p);
        fileStore = new KeptStore(p, fs);
        return fs;
    }

    private record KeptStore(Path path, java.nio.file.FileStore store) {}

    private volatile KeptStore fileStore;

    private synchronized void hold(String jobId) {
        leases.put(jobId, Long.MAX_VALUE);
    }

    private synchronized void release(String jobId) {
        leases.remove(jobId);
    }

    /** Slots held now (running jobs and unexpired offers). */
    private synchronized int inUse() {
        long now = clock.millis();
        leases.values().removeIf(until -> until != Long.MAX_VALUE && until < now);
        return leases.size();
    }

    @Override
    public void offer(OfferRequest request, StreamObserver<OfferReply> out) {
        String home = RequireClusterCertificate.PEER.get();
        boolean guest = isGuest(home, request.getJob());
        String refusal = admit(request.getJob(), guest, home);
        OfferReply.Builder b = OfferReply.newBuilder().setAccepted(refusal == null).setLeaseMillis(LEASE_MILLIS)
                .setGuestJobs(inUse()).setGuestSlots(slots);
        if (refusal != null) {
            b.setReason(refusal);
            if (guest && policyRefusal(request.getJob(), home) != null) b.setPolicyStamp(policyStamp.getAsLong());
            // The owner's policy speaks rarely and matters to them; a full node is routine.
            if (guest && guestRefusal(request.getJob(), home) != null) {
                log.info("refused job {} of {} from {}: {}", request.getJob().getJobId(), request.getJob().getUser(), home, refusal);
            }
        }
        out.onNext(b.build());
        out.onCompleted();
    }

    @Override
    public void cancel(CancelRequest request, StreamObserver<CancelReply> out) {
        boolean found;
        if (!request.getEvictReason().isEmpty()) {
            found = evict(request.getJobId(), request.getEvictReason());
        } else {
            RunningProcess p = running.get(request.getJobId());
            if (p != null) p.killTree();
            found = p != null;
        }
        out.onNext(CancelReply.newBuilder().setFound(found).build());
        out.onCompleted();
    }

    @Override
    public StreamObserver<RunInput> run(StreamObserver<RunEvent> responses) {
        ServerCallStreamObserver<RunEvent> out = (ServerCallStreamObserver<RunEvent>) responses;
        return new Attempt(out);
    }

    /** One attempt of one job on this host. */
    private final class Attempt implements StreamObserver<RunInput> {
        private final ServerCallStreamObserver<RunEvent> out;
        private final Object readiness = new Object();
        private volatile RunningProcess process;
        private volatile String jobId;
        private volatile JobLaunch job;
        private volatile Manifest inputs = Manifest.EMPTY;
        /** Everything laid into the sandbox (inputs and the last checkpoint), pinned in the store meanwhile. */
        private volatile Manifest staged = Manifest.EMPTY;
        private volatile Path workDir;
        /** The kept sandbox this guest runs in, or null. */
        private volatile io.herd.executor.WarmSandboxes.Lease kept;
        private volatile boolean closed;
        private volatile boolean guest;
        /** Why the host evicted the job, or null. */
        private volatile String evicted;
        /** Evicted and asked to save its state ({@code --checkpoint signal}). */
        private volatile boolean checkpointing;
        /** The home node, from its certificate (the gRPC context holds it while run() is called). */
        private final String home = RequireClusterCertificate.PEER.get();

        Attempt(ServerCallStreamObserver<RunEvent> out) {
            this.out = out;
            out.setOnReadyHandler(() -> {
                synchronized (readiness) {
                    readiness.notifyAll();
                }
            });
            out.setOnCancelHandler(() -> {
                closed = true;
                stopWaiting(this);
                RunningProcess p = process;
                if (p != null) {
                    log.info("home went away: killing job {}", jobId);
                    p.killTree();
                }
                synchronized (readiness) {
                    readiness.notifyAll();
                }
            });
        }

        /** Job output: blocks the job's output reader until the home can take more (end-to-end back-pressure). */
        private void send(RunEvent e) {
            send(e, true);
        }

        /**
         * @param mayWait only for output from the job's reader threads: control events are sent from
         *        gRPC callbacks, and waiting there would block the very executor that reports readiness
         */
        private void send(RunEvent e, boolean mayWait) {
            synchronized (readiness) {
                while (mayWait && !out.isReady() && !closed) {
                    try {
                        readiness.wait(1000);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }
            if (closed) return;
            synchronized (out) {
                out.onNext(e);
            }
        }

        @Override
        public void onNext(RunInput in) {
            try {
                switch (in.getKindCase()) {
                    case START -> start(in.getStart());
                    case STDIN -> {
                        RunningProcess p = process;
                        if (p != null && job != null && job.getStdin()) {
                            p.stdin().write(in.getStdin().toByteArray());
                            p.stdin().flush();
                        }
                    }
                    case STDIN_CLOSED -> {
                        RunningProcess p = process;
                        if (p != null && job != null && job.getStdin()) p.stdin().close();
                    }
                    case SIGNAL -> {
                        RunningProcess p = process;
                        if (p != null) p.signal(in.getSignal());
                    }
                    default -> { }
                }
            } catch (IOException e) {
                log.debug("job {}: stdin closed by the job: {}", jobId, e.toString());
            }
        }

        private void start(JobLaunch launch) {
            job = launch;
            JobLaunch job = launch;
            jobId = job.getJobId();
            boolean guest = isGuest(home, job);
            this.guest = guest;
            // admit() also succeeds for the job that holds this slot's lease from its offer.
            boolean[] waits = {false};
            String refusal = admitOrWait(this, job, guest, home, waits);
            if (waits[0]) return;
            if (refusal != null) {
                refuse(refusal);
                return;
            }
            run(job, guest);
        }

        /** A job sent ahead was given a freed slot: it starts now (its admission is checked again, the owner may be back). */
        void startWaited() {
            if (closed) {
                release(jobId);
                startWaiting();
                return;
            }
            String refusal = admit(job, guest, home);
            if (refusal != null) {
                refuse(refusal);
                return;
            }
            run(job, guest);
        }

        /** Nothing ran: the home queues the job again without spending one of its attempts. */
        void refuse(String refusal) {
            JobLaunch job = this.job;
            release(job.getJobId());
            // As at an offer: the owner's policy speaks rarely and matters to them; a full node is routine.
            if (guest && guestRefusal(job, home) != null) {
                log.info("refused job {} of {} from {}: {}", job.getJobId(), job.getUser(), home, refusal);
            } else {
                log.debug("refused job {}: {}", job.getJobId(), refusal);
            }
            Exited.Builder refused = Exited.newBuilder().setCode(127).setError(refusal).setRetry(true)
                    .setRefused(true).setHostGuestJobs(inUse());
            if (guest && policyRefusal(job, home) != null) refused.setPolicyStamp(policyStamp.getAsLong());
            send(RunEvent.newBuilder().setExited(refused).build(), false);
            complete();
            startWaiting();
        }

        private void run(JobLaunch job, boolean guest) {
            hold(job.getJobId());
            Path workDir;
            Manifest inputs = manifest(job.getInputsList());
            // A job that checkpointed resumes from its saved files, laid over its inputs.
            Manifest staged = job.getResumeCount() == 0 ? inputs : overlay(inputs, manifest(job.getResumeList()));
            Policy policyNow = policy.get();
            boolean network = job.getNet() && policyNow.guestNetwork();
            io.herd.executor.WarmSandboxes.Lease kept = guest ? keptSandbox(home, job, network) : null;
            this.kept = kept;
            if (job.getShared()) {
                workDir = kept != null ? kept.dir() : Path.of(job.getCwd());
            } else {
                workDir = kept != null ? kept.dir() : sandboxRoot.resolve(job.getJobId() + "-" + job.getAttempt());
                staged.hashes().forEach(store::pin);
                try {
                    // Root ignores the read-only bit that protects hard-linked inputs: give it copies.
                    SandboxFiles.materialise(store, staged, workDir, RUNS_AS_ROOT ? SandboxFiles.Inputs.COPIED : SandboxFiles.Inputs.LINKED);
                    // The guests' account writes here, and only here.
                    if (guest) runner.sandbox().handOver(workDir);
                } catch (IOException | RuntimeException e) {
                    staged.hashes().forEach(store::unpin);
                    if (kept != null) kept.release(); else removeSandbox(workDir);
                    fail(job, "cannot stage the job's inputs on " + nodeName + ": " + e.getMessage(), true);
                    return;
                }
            }
            this.inputs = inputs;
            this.staged = staged;
            this.workDir = workDir;
            OutputSink sink = new OutputSink() {
                @Override
                public void stdout(byte[] buf, int off, int len) {
                    send(RunEvent.newBuilder().setStdout(ByteString.copyFrom(buf, off, len)).build());
                }

                @Override
                public void stderr(byte[] buf, int off, int len) {
                    send(RunEvent.newBuilder().setStderr(ByteString.copyFrom(buf, off, len)).build());
                }
            };
            List<String> argv = new ArrayList<>(job.getArgvList());
            try {
                LaunchSpec spec = new LaunchSpec(job.getJobId(), argv, workDir, Map.copyOf(job.getEnvMap()),
                        job.getStdin(), "job-" + job.getJobId().replace('.', '-') + "-" + job.getAttempt());
                if (guest) {
                    long mem = policyNow.guestMemLimit(job.getMemBytes());
                    spec = spec.asGuest(new LaunchSpec.Guest(network, mem, policyNow.guestPidsMax(), kept));
                }
                RunningProcess p = runner.start(spec, sink);
                process = p;
                running.put(job.getJobId(), p);
                attempts.put(job.getJobId(), this);
                send(RunEvent.newBuilder().setStarted(Started.newBuilder().setHost(nodeName).setPid(p.pid())).build(), false);
                log.info("job {} attempt {} started (pid {}): {}", job.getJobId(), job.getAttempt(), p.pid(), argv);
                if (closed) p.killTree();
                // Admitted just before the owner came back: it joins the others in the freezer.
                else if (guest && !ownerAway.getAsBoolean()) freeze("frozen: the owner is back");
                p.onExit().whenComplete((status, err) -> finished(job, status, err));
            } catch (LaunchException e) {
                cleanUp(job);
                fail(job, e.getMessage(), false);
            }
        }

        private void finished(JobLaunch job, ExitStatus status, Throwable err) {
            running.remove(job.getJobId());
            attempts.remove(job.getJobId(), this);
            release(job.getJobId());
            Exited.Builder b = Exited.newBuilder();
            String evictedFor = evicted;
            if (evictedFor != null) {
                // Its outputs are a killed run's: the next attempt starts from the inputs again,
                // or from the state it saved when asked to (--checkpoint signal).
                b.setCode(status == null ? 137 : status.code()).setSignal(status == null || status.signal() == null ? 0 : status.signal())
                        .setCpuMillis(status == null ? 0 : status.cpuMillis()).setError(evictedFor + " on " + nodeName)
                        .setRetry(true).setEvicted(true);
                if (checkpointing) checkpointed(job, status, b);
            } else if (err != null) {
                b.setCode(1).setError("the job's supervisor failed: " + err);
            } else {
                b.setCode(status.code()).setSignal(status.signal() == null ? 0 : status.signal()).setCpuMillis(status.cpuMillis());
                String full = status.code() != 0 && status.failure() == null && !job.getShared() ? diskFull() : null;
                if (status.failure() != null) b.setError(status.failure());   // e.g. out of memory: the job failed
                // A job that failed while this host's disk was full most likely failed of it (its writes got
                // ENOSPC): not the job's result; it is placed elsewhere (counted against its retries, so a job
                // that fills every disk itself ends held).
                else if (full != null) b.setError("the job failed on " + nodeName + " while " + full).setRetry(true);
                else if (!job.getShared()) collectOutputs(job, b);
            }
            cleanUp(job);
            // The slot goes to a job waiting for one before the home hears of this end (its count includes it).
            startWaiting();
            b.setHostGuestJobs(inUse());
            log.info("job {} attempt {} ended: exit {}", job.getJobId(), job.getAttempt(), b.getCode());
            send(RunEvent.newBuilder().setExited(b).build(), false);
            complete();
        }

        /**
         * Puts the sandbox's new and changed files (and those matching the job's output globs)
         * into the content store for the home node to fetch. A failure here is this host's
         * (disk full, unreadable sandbox): the job is reported for placing elsewhere.
         */
        private void collectOutputs(JobLaunch job, Exited.Builder b) {
            try {
                OutputCollector.Changes changes = OutputCollector.changed(workDir, inputs, job.getOutputGlobsList());
                for (Manifest.FileEntry f : changes.files()) {
                    // The stored copy is what the home gets: hash it as stored, in case a straggler changed the file.
                    String sha = store.put(workDir.resolve(f.path()));
                    b.addOutputs(StagedFile.newBuilder().setPath(f.path()).setSha256(sha)
                            .setSize(Files.size(store.path(sha))).setMode(f.mode()));
                }
                for (OutputCollector.Rejected r : changes.rejected()) b.addRejected(r.path() + ": " + r.reason());
            } catch (IOException | RuntimeException e) {
                b.clearOutputs().setError("cannot collect the job's outputs on " + nodeName + ": " + e.getMessage()).setRetry(true);
            }
        }

        /**
         * An evicted job asked to checkpoint has ended: if it exited {@value Checkpoint#EXIT_CODE} its
         * state is saved, and the files that differ from its inputs go home as its checkpoint (a
         * {@code --shared} job keeps them in place). Otherwise it is just evicted.
         */
        private void checkpointed(JobLaunch job, ExitStatus status, Exited.Builder b) {
            if (status == null || status.signal() != null || status.failure() != null || status.code() != Checkpoint.EXIT_CODE) {
                log.info("job {} did not checkpoint (exit {}): it runs again from its last checkpoint or the start",
                        job.getJobId(), status == null ? "unknown" : status.describe());
                return;
            }
            if (job.getShared()) {
                b.setCheckpointed(true);
                return;
            }
            Exited.Builder files = Exited.newBuilder();
            collectOutputs(job, files);
            if (!files.getError().isEmpty()) {
                log.warn("job {}: its checkpoint is lost: {}", job.getJobId(), files.getError());
                return;
            }
            b.setCheckpointed(true).addAllOutputs(files.getOutputsList()).addAllRejected(files.getRejectedList());
            log.info("job {} checkpointed: {} files", job.getJobId(), files.getOutputsCount());
        }

        /** Freezes the job and tells its home; false when it is not running or already frozen. */
        synchronized boolean freeze(String reason) {
            RunningProcess p = process;
            if (p == null || evicted != null || p.frozen()) return false;
            String how = p.freeze();
            if (how == null) return false;
            log.info("job {} {} ({})", jobId, reason, how);
            send(RunEvent.newBuilder().setFrozen(io.herd.api.proto.Frozen.newBuilder().setFrozen(true).setReason(reason).setHow(how)).build(), false);
            return true;
        }

        synchronized boolean thaw(String reason) {
            RunningProcess p = process;
            if (p == null || evicted != null || !p.frozen()) return false;
            p.thaw();
            log.info("job {} {}", jobId, reason);
            send(RunEvent.newBuilder().setFrozen(io.herd.api.proto.Frozen.newBuilder().setFrozen(false).setReason(reason)).build(), false);
            return true;
        }

        /** Kills the job; its exit is reported home as an eviction. False when it is not running or already evicted. */
        boolean evict(String reason) {
            RunningProcess p;
            int ask;
            synchronized (this) {
                p = process;
                if (p == null || evicted != null) return false;
                evicted = reason;
                JobLaunch j = job;
                ask = j == null ? 0 : j.getCheckpointSignal();
                checkpointing = ask > 0;
            }
            if (ask == 0) {
                log.info("job {} {}", jobId, reason);
                p.killTree();
                return true;
            }
            // --checkpoint signal: it runs (thawed, still at the guests' priority) just long enough to save its state.
            log.info("job {} {}: asking it to checkpoint (signal {}, {} s to save its state and exit {})",
                    jobId, reason, ask, Checkpoint.GRACE_SECONDS, Checkpoint.EXIT_CODE);
            if (p.frozen()) p.thaw();
            p.signal(ask);
            CompletableFuture.delayedExecutor(checkpointGraceMillis, TimeUnit.MILLISECONDS).execute(() -> {
                if (!p.onExit().isDone()) {
                    log.info("job {} did not checkpoint within {} ms; killing it", jobId, checkpointGraceMillis);
                    p.killTree();
                }
            });
            return true;
        }

        private void cleanUp(JobLaunch job) {
            io.herd.executor.WarmSandboxes.Lease k = kept;
            if (!job.getShared() && workDir != null) {
                staged.hashes().forEach(store::unpin);
                if (k == null) removeSandbox(workDir);   // a kept sandbox's directory is emptied when it is given back
            }
            if (k != null) k.release();
        }

        private void fail(JobLaunch job, String why, boolean retry) {
            release(job.getJobId());
            startWaiting();
            log.warn("job {} not started: {}", job.getJobId(), why);
            send(RunEvent.newBuilder().setExited(Exited.newBuilder().setCode(127).setError(why).setRetry(retry)
                    .setHostGuestJobs(inUse())).build(), false);
            complete();
        }

        private void complete() {
            synchronized (out) {
                if (!closed) {
                    closed = true;
                    out.onCompleted();
                }
            }
        }

        @Override
        public void onError(Throwable t) {
            closed = true;
            RunningProcess p = process;
            if (p != null) {
                log.info("job {}: the home's stream failed ({}); killing it", jobId, t.toString());
                p.killTree();
            }
        }

        @Override
        public void onCompleted() {
            // The home finished sending (stdin done); the job goes on until it exits.
        }
    }


    private static final boolean RUNS_AS_ROOT = "root".equals(System.getProperty("user.name"));

    /** {@code base} with {@code over}'s files added, or replacing those of the same path. */
    static Manifest overlay(Manifest base, Manifest over) {
        Map<String, Manifest.FileEntry> byPath = new java.util.LinkedHashMap<>();
        for (Manifest.FileEntry f : base.files()) byPath.put(f.path(), f);
        for (Manifest.FileEntry f : over.files()) byPath.put(f.path(), f);
        return new Manifest(new ArrayList<>(byPath.values()));
    }

    static Manifest manifest(List<StagedFile> files) {
        List<Manifest.FileEntry> entries = new ArrayList<>();
        for (StagedFile f : files) entries.add(new Manifest.FileEntry(f.getPath(), f.getSha256(), f.getSize(), f.getMode()));
        return entries.isEmpty() ? Manifest.EMPTY : new Manifest(entries);
    }

    private static void removeSandbox(Path dir) {
        try {
            SandboxFiles.delete(dir);
        } catch (IOException e) {
            log.warn("cannot remove sandbox {}: {}", dir, e.toString());
        }
    }
}
