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
import io.herd.journal.Journal;
import io.herd.scheduler.Assignment;
import io.herd.scheduler.Constraint;
import io.herd.scheduler.FairShare;
import io.herd.scheduler.HostView;
import io.herd.scheduler.JobRequest;
import io.herd.scheduler.LiveQueue;
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

    private final String self;
    private final Journal journal;
    private final Clock clock;
    private final Path logs;
    private final Supplier<Collection<HostView>> hosts;
    private final Function<String, ManagedChannel> channelTo;
    private final LiveQueue queue = new LiveQueue();
    private final FairShare fairShare = new FairShare();
    private final Map<String, JobRequest> requests = new ConcurrentHashMap<>();
    private final Map<String, Attempt> attempts = new ConcurrentHashMap<>();
    private final Map<String, List<Attachment>> attached = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<JobRecord>> ends = new ConcurrentHashMap<>();
    /** Told when a job's log files grew (herd logs -f); unlike attachments they never get stdin. */
    private final Map<String, List<Runnable>> outputWatchers = new ConcurrentHashMap<>();
    /** Stdin and signals that arrived before the job had an attempt to send them to. */
    private final Map<String, List<RunInput>> pendingInput = new ConcurrentHashMap<>();
    private final Semaphore wake = new Semaphore(0);
    private final Thread dispatcher;
    private volatile boolean closed;

    public JobManager(String self, Journal journal, Path logs, Clock clock, Supplier<Collection<HostView>> hosts,
                      Function<String, ManagedChannel> channelTo) {
        this.self = self;
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
            if (!(s instanceof JobState.Queued)) {
                // A restarted home cannot re-attach to a running attempt: that attempt ends with this
                // home's connection on its host, and the job runs again from the start.
                journal.transition(r.id(), new JobState.Queued("the home node restarted"), now);
            }
            if (!(s instanceof JobState.Held)) enqueue(r.id(), r.user(), r.spec(), now);
        }
        dispatcher.start();
    }

    public String submit(String user, JobSpec spec, Attachment attach) {
        long now = clock.millis();
        String id = journal.submit(user, spec, now);
        if (attach != null) attached.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(attach);
        enqueue(id, user, spec, now);
        wake.release();
        return id;
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
        long now = clock.millis();
        String arrayId = journal.submitArray(user, template, jobs, now);
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

    private void enqueue(String id, String user, JobSpec spec, long now) {
        Constraint c = spec.constraint() == null || spec.constraint().isBlank() ? Constraint.ALWAYS : Constraint.parse(spec.constraint());
        String pinned = spec.local() ? self : spec.pinnedNode();
        // Programs are checked by the host itself when it is offered the job.
        JobRequest req = new JobRequest(id, user, Math.max(1, spec.cpus()), spec.memBytes(), c, Set.of(), 0, 1.0, pinned, self);
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
            assigned = queue.dispatch(hosts.get(), fairShare, now);
        }
        for (Assignment a : assigned) {
            String id = a.job().id();
            JobRecord r = journal.get(id).orElse(null);
            if (r == null || r.state().terminal()) continue;
            JobLaunch launch = launch(r);
            OfferReply reply;
            try {
                reply = JobServiceGrpc.newBlockingStub(channelTo.apply(a.host())).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .offer(OfferRequest.newBuilder().setJob(launch).build());
            } catch (RuntimeException e) {
                reply = OfferReply.newBuilder().setAccepted(false).setReason(e.getMessage()).build();
            }
            if (!reply.getAccepted()) {
                log.info("{} refused job {}: {}", a.host(), id, reply.getReason());
                synchronized (queue) {
                    queue.add(a.job(), r.submittedMs());
                }
                continue;
            }
            journal.transition(id, new JobState.Placed(a.host(), launch.getAttempt()), now);
            new Attempt(r, a.host(), launch).begin();
        }
    }

    private JobLaunch launch(JobRecord r) {
        JobSpec s = r.spec();
        return JobLaunch.newBuilder().setJobId(r.id()).setAttempt(r.attempts() + 1).setUser(r.user())
                .addAllArgv(s.argv()).putAllEnv(s.env()).setCwd(s.cwd() == null ? "" : s.cwd()).setShared(s.shared())
                .setCpus(Math.max(1, s.cpus())).setMemBytes(s.memBytes()).addAllNeeds(s.needs())
                .setStdin(attached.containsKey(r.id())).build();
    }

    /** One attempt of a job on one host. */
    private final class Attempt implements StreamObserver<RunEvent> {
        final JobRecord job;
        final String host;
        final JobLaunch launch;
        StreamObserver<RunInput> toHost;
        final OutputStream out;
        final OutputStream err;

        Attempt(JobRecord job, String host, JobLaunch launch) {
            this.job = job;
            this.host = host;
            this.launch = launch;
            try {
                Path dir = Files.createDirectories(logs.resolve(job.id()));
                out = Files.newOutputStream(dir.resolve("stdout"), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
                err = Files.newOutputStream(dir.resolve("stderr"), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        void begin() {
            synchronized (JobManager.this) {
                attempts.put(job.id(), this);
                toHost = JobServiceGrpc.newStub(channelTo.apply(host)).run(this);
                toHost.onNext(RunInput.newBuilder().setStart(launch).build());
                // A re-run gets the stdin buffered so far; its first attempt consumed what it read.
                List<RunInput> early = pendingInput.get(job.id());
                if (early != null) early.forEach(toHost::onNext);
            }
        }

        void input(RunInput in) {
            synchronized (this) {
                if (toHost != null) toHost.onNext(in);
            }
        }

        @Override
        public void onNext(RunEvent e) {
            long now = clock.millis();
            try {
                switch (e.getKindCase()) {
                    case STARTED -> {
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
                    default -> { }
                }
            } catch (IOException ex) {
                log.warn("job {}: cannot write its log: {}", job.id(), ex.toString());
            }
        }

        private void ended(io.herd.api.proto.Exited x, long now) {
            closeLogs();
            attempts.remove(job.id());
            if (journal.get(job.id()).map(r -> r.state().terminal()).orElse(true)) return;
            journal.addCpu(job.id(), x.getCpuMillis());
            fairShare.charge(job.user(), x.getCpuMillis() / 1000.0, now);
            JobState end = !x.getError().isEmpty() ? new JobState.Failed(x.getError(), -1)
                    : new JobState.Done(x.getCode(), host, now);
            journal.transition(job.id(), end, now);
            finish(job.id());
            wake.release();
        }

        @Override
        public void onError(Throwable t) {
            closeLogs();
            attempts.remove(job.id());
            long now = clock.millis();
            JobRecord r = journal.get(job.id()).orElse(null);
            if (r == null || r.state().terminal()) return;
            log.warn("job {}: lost its host {} ({}); placing it again", job.id(), host, t.toString());
            requeueOrHold(r, "host " + host + " was lost", now);
        }

        @Override
        public void onCompleted() {
            closeLogs();
        }

        private void closeLogs() {
            try {
                out.close();
                err.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
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

    private void requeueOrHold(JobRecord r, String why, long now) {
        if (r.retriesExhausted()) {
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

    private void finish(String id) {
        JobRecord r = journal.get(id).orElseThrow();
        List<Attachment> list = attached.remove(id);
        if (list != null) list.forEach(a -> a.ended(r));
        CompletableFuture<JobRecord> f = ends.remove(id);
        if (f != null) f.complete(r);
        requests.remove(id);
        pendingInput.remove(id);
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
        Attempt a = attempts.remove(id);
        journal.transition(id, new JobState.Cancelled(by), now);
        if (a != null) {
            try {
                JobServiceGrpc.newBlockingStub(channelTo.apply(a.host)).withDeadlineAfter(5, TimeUnit.SECONDS)
                        .cancel(CancelRequest.newBuilder().setJobId(id).build());
            } catch (RuntimeException e) {
                log.warn("cancel of {} on {} failed: {}", id, a.host, e.toString());
            }
        }
        finish(id);
        return true;
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
        dispatcher.interrupt();
    }
}
