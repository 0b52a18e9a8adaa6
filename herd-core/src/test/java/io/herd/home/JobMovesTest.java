package io.herd.home;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.herd.api.proto.CancelReply;
import io.herd.api.proto.CancelRequest;
import io.herd.api.proto.Exited;
import io.herd.api.proto.JobServiceGrpc;
import io.herd.api.proto.RunEvent;
import io.herd.api.proto.RunInput;
import io.herd.api.proto.Started;
import io.herd.journal.Event;
import io.herd.journal.JobRecord;
import io.herd.journal.JobSpec;
import io.herd.journal.JobState;
import io.herd.journal.Journal;
import io.herd.scheduler.HostView;
import io.herd.transfer.ContentStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The home's moves, with its real journal and dispatcher and two hosts played in-process: a job
 * placed on a slow node while the fast one was busy moves to the fast one once that is free, and
 * is placed there again without spending a retry.
 */
class JobMovesTest {

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final Clock clock = new Clock() {
        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(now.get());
        }
    };
    private final String prefix = "moves-" + System.nanoTime() + "-";
    private final List<Server> servers = new ArrayList<>();
    private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
    private final Map<String, FakeHost> hosts = new ConcurrentHashMap<>();
    private Journal journal;
    private JobManager jobs;
    /** Hosts whose next channel lookup fails, as for a node that left the cluster since it was chosen. */
    private final Set<String> gone = ConcurrentHashMap.newKeySet();
    /** Hosts whose next channel cannot even make a call: the start throws at once. */
    private final Set<String> broken = ConcurrentHashMap.newKeySet();

    private static ManagedChannel brokenChannel() {
        return new ManagedChannel() {
            @Override
            public <Q, R> io.grpc.ClientCall<Q, R> newCall(io.grpc.MethodDescriptor<Q, R> method, io.grpc.CallOptions options) {
                throw new IllegalStateException("channel broken (test)");
            }

            @Override
            public String authority() {
                return "broken";
            }

            @Override
            public ManagedChannel shutdown() {
                return this;
            }

            @Override
            public ManagedChannel shutdownNow() {
                return this;
            }

            @Override
            public boolean isShutdown() {
                return true;
            }

            @Override
            public boolean isTerminated() {
                return true;
            }

            @Override
            public boolean awaitTermination(long timeout, java.util.concurrent.TimeUnit unit) {
                return true;
            }
        };
    }

    /** A host that starts every job at once and ends it when told; an eviction ends it as evicted. */
    static final class FakeHost extends JobServiceGrpc.JobServiceImplBase {
        final String name;
        final Map<String, StreamObserver<RunEvent>> running = new ConcurrentHashMap<>();
        final List<String> started = new CopyOnWriteArrayList<>();
        final List<CancelRequest> cancels = new CopyOnWriteArrayList<>();

        FakeHost(String name) {
            this.name = name;
        }

        @Override
        public StreamObserver<RunInput> run(StreamObserver<RunEvent> events) {
            return new StreamObserver<>() {
                @Override
                public void onNext(RunInput in) {
                    if (!in.hasStart()) return;
                    String id = in.getStart().getJobId();
                    running.put(id, events);
                    started.add(id);
                    events.onNext(RunEvent.newBuilder().setStarted(Started.newBuilder().setHost(name).setPid(1)).build());
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }

        /** Cancels fail as if the host were unreachable (the job runs on). */
        volatile boolean failCancels;
        /** An evicted job says it saved a checkpoint (which this fake host cannot hand over). */
        volatile boolean checkpoints;

        @Override
        public void cancel(CancelRequest req, StreamObserver<CancelReply> reply) {
            cancels.add(req);
            if (failCancels) {
                reply.onError(io.grpc.Status.UNAVAILABLE.withDescription("host unreachable").asRuntimeException());
                return;
            }
            StreamObserver<RunEvent> events = running.remove(req.getJobId());
            if (events != null) {
                Exited.Builder x = Exited.newBuilder().setCode(137).setSignal(9)
                        .setError(req.getEvictReason()).setRetry(true).setEvicted(true).setHostGuestJobs(running.size());
                if (checkpoints) {
                    x.setCode(io.herd.journal.Checkpoint.EXIT_CODE).setSignal(0).setCheckpointed(true)
                            .addOutputs(io.herd.api.proto.StagedFile.newBuilder().setPath("state.dat").setSize(5).setMode(0644)
                                    .setSha256("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
                }
                events.onNext(RunEvent.newBuilder().setExited(x).build());
                events.onCompleted();
            }
            reply.onNext(CancelReply.newBuilder().setFound(events != null).build());
            reply.onCompleted();
        }

        /** Ends the job with the given report. */
        void finish(String id, Exited.Builder x) {
            StreamObserver<RunEvent> events = running.remove(id);
            events.onNext(RunEvent.newBuilder().setExited(x.setHostGuestJobs(running.size())).build());
            events.onCompleted();
        }

        void print(String id, String text) {
            running.get(id).onNext(RunEvent.newBuilder().setStdout(com.google.protobuf.ByteString.copyFromUtf8(text)).build());
        }

        void finish(String id) {
            StreamObserver<RunEvent> events = running.remove(id);
            events.onNext(RunEvent.newBuilder().setExited(Exited.newBuilder().setCode(0).setHostGuestJobs(running.size())).build());
            events.onCompleted();
        }
    }

    /** One core each, speed 1, one slot; guests capped at {@code share} cores. */
    private static HostView view(String name, double share) {
        return new HostView(name, "alive", 1, 1, 0, 0, 8L << 30, 16L << 30, 1, 0, Map.of(), Set.of("sleep"), 0,
                share, "", 0, 0);
    }

    @BeforeEach
    void start() throws Exception {
        for (String h : List.of("fast", "slow")) {
            FakeHost fake = new FakeHost(h);
            hosts.put(h, fake);
            servers.add(InProcessServerBuilder.forName(prefix + h).directExecutor().addService(fake).build().start());
        }
        journal = Journal.open(dir.resolve("journal.db"), "home");
        startHome();
    }

    /** The home's job manager over the journal as it is: at the start, and again after a restart. */
    private void startHome() throws java.io.IOException {
        ContentStore store = new ContentStore(dir.resolve("store"), 1L << 30);
        java.util.function.Function<String, ManagedChannel> channelTo = h -> {
            if (gone.remove(h)) throw new IllegalStateException("no address known for node " + h);
            if (broken.remove(h)) return brokenChannel();
            return channels.computeIfAbsent(h, k -> InProcessChannelBuilder.forName(prefix + k).directExecutor().build());
        };
        List<HostView> views = List.of(view("fast", 0.8), view("slow", 0.2));
        jobs = new JobManager("home", journal, dir.resolve("jobs"), clock, () -> views, channelTo,
                new Staging(store, channelTo, dir.resolve("jobs")), h -> 0);
        jobs.start();
    }

    @AfterEach
    void stop() {
        if (jobs != null) jobs.close();
        channels.values().forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
        if (journal != null) journal.close();
    }

    private String submit(String cmd, boolean shared, String node) {
        return submit(cmd, shared, node, null);
    }

    private String submit(String cmd, boolean shared, String node, String checkpoint) {
        JobSpec spec = JobSpec.builder(List.of("sh", "-c", cmd)).cwd(dir.toString()).shared(shared).pinnedNode(node)
                .checkpoint(checkpoint).build();
        return jobs.submit(System.getProperty("user.name"), spec, null);
    }

    private String awaitStart(String host, String id) {
        await().atMost(Duration.ofSeconds(10)).until(() -> hosts.get(host).running.containsKey(id));
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state() instanceof JobState.Running);
        return id;
    }

    /** A long job pinned to the fast node, and the job of the test placed on the slow one beside it. */
    private record Setup(String blocker, String job) {
    }

    /**
     * The home learns its jobs' run-time scale from three that ran on the fast node (2.5 s each);
     * then a long job holds the fast node, and once it is well past its estimate a new job no
     * longer waits for it and goes to the slow node.
     */
    private Setup jobOnTheSlowNodeWhileTheFastOneIsBusy(boolean shared) {
        return jobOnTheSlowNodeWhileTheFastOneIsBusy(shared, null);
    }

    private Setup jobOnTheSlowNodeWhileTheFastOneIsBusy(boolean shared, String checkpoint) {
        for (int i = 0; i < 3; i++) runOnFast("learn");
        String blocker = awaitStart("fast", submit("block", false, "fast"));
        now.addAndGet(60_000);
        String job = awaitStart("slow", submit("work", shared, null, checkpoint));
        assertThat(hosts.get("slow").cancels).isEmpty();
        return new Setup(blocker, job);
    }

    /** A job pinned to the fast node, run to its end there: the dispatcher has run with the node free. */
    private void runOnFast(String cmd) {
        String id = awaitStart("fast", submit(cmd, true, "fast"));
        now.addAndGet(2500);
        hosts.get("fast").finish(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state().terminal());
    }

    @Test
    void aJobOnTheSlowNodeMovesToTheFastOneOnceThatIsFreeAndOnlyOnce() {
        Setup s = jobOnTheSlowNodeWhileTheFastOneIsBusy(false);
        String job = s.job();
        hosts.get("fast").finish(s.blocker());   // the fast node is free; nothing else waits
        await().atMost(Duration.ofSeconds(10)).until(() -> !hosts.get("slow").cancels.isEmpty());
        CancelRequest c = hosts.get("slow").cancels.get(0);
        assertThat(c.getJobId()).isEqualTo(job);
        assertThat(c.getEvictReason()).startsWith("moved: fast would run it in about").contains("to go on slow");
        awaitStart("fast", job);
        assertThat(journal.get(job).orElseThrow().attemptsInBudget()).as("the move spends no retry").isEqualTo(1);
        assertThat(journal.events(job)).extracting(Event::detail).anyMatch(d -> d.startsWith("moved: fast"));

        // Moved once, never again: with the slow node free now, nothing moves it back or on.
        now.addAndGet(1000);
        jobs.capacityChanged();
        String other = awaitStart("slow", submit("other", false, "slow"));
        hosts.get("slow").finish(other);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(other).orElseThrow().state().terminal());
        assertThat(hosts.get("fast").cancels).isEmpty();
        hosts.get("fast").finish(job);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(job).orElseThrow().state() instanceof JobState.Done);
        assertThat(hosts.get("slow").cancels).hasSize(1);
        assertThat(journal.get(job).orElseThrow().retried()).as("a move is not a retry (the array summary's count)").isFalse();
    }

    /**
     * An end the home cannot take in (here a host reporting negative CPU time, which the fair-share
     * account refuses) does not leave the job running for ever: it is placed again, and the reason
     * is in its events.
     */
    @Test
    void anEndTheHomeCannotTakeInPlacesTheJobAgain() {
        String id = awaitStart("fast", submit("bad report", true, "fast"));
        hosts.get("fast").finish(id, Exited.newBuilder().setCode(0).setCpuMillis(-5));
        await().atMost(Duration.ofSeconds(10)).until(() -> hosts.get("fast").started.stream().filter(id::equals).count() == 2);
        assertThat(journal.events(id)).extracting(Event::detail)
                .anyMatch(d -> d.contains("its end on fast could not be taken in") && d.contains("not negative"));
        awaitStart("fast", id);
        hosts.get("fast").finish(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state() instanceof JobState.Done);
    }

    /**
     * The home writes a job's log only once it prints (most jobs of a big array never do), and a
     * new attempt removes what the one before it wrote: the log is always the latest attempt's.
     */
    @Test
    void aJobsLogIsCreatedByItsFirstOutputAndIsTheLatestAttemptsAfterAMove() throws Exception {
        Setup s = jobOnTheSlowNodeWhileTheFastOneIsBusy(false);
        Path log = jobs.logDir(s.job()).resolve("stdout");
        assertThat(jobs.logDir(s.blocker())).as("nothing printed, nothing written").doesNotExist();
        hosts.get("slow").print(s.job(), "from the slow node\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> java.nio.file.Files.exists(log)
                && java.nio.file.Files.readString(log).equals("from the slow node\n"));
        hosts.get("fast").finish(s.blocker());   // the job moves to the fast node
        awaitStart("fast", s.job());
        assertThat(log).as("the first attempt's output is not the second's").doesNotExist();
        hosts.get("fast").print(s.job(), "from the fast node\n");
        hosts.get("fast").finish(s.job());
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(s.job()).orElseThrow().state() instanceof JobState.Done);
        assertThat(log).hasContent("from the fast node");
        assertThat(jobs.logDir(s.blocker())).doesNotExist();
    }

    /**
     * The job saved a checkpoint when it was moved, but the home cannot fetch it from the old host
     * (here: the host has no transfer service at all). The move still goes ahead and the job
     * starts again from its previous state (none), saying nothing of a checkpoint it does not have.
     */
    @Test
    void aCheckpointThatCannotBeFetchedLeavesTheJobToStartAgainFromItsPreviousState() {
        hosts.get("slow").checkpoints = true;
        Setup s = jobOnTheSlowNodeWhileTheFastOneIsBusy(false, "signal");
        hosts.get("fast").finish(s.blocker());
        awaitStart("fast", s.job());
        assertThat(journal.checkpoint(s.job())).as("nothing was kept").isEmpty();
        assertThat(journal.get(s.job()).orElseThrow().attemptsInBudget()).isEqualTo(1);
        assertThat(journal.events(s.job())).extracting(Event::detail)
                .anyMatch(d -> d.startsWith("moved: fast"))
                .noneMatch(d -> d.contains("resumes from its checkpoint"));
    }

    @Test
    void aSharedJobWithoutCheckpointStaysWhereItRuns() {
        Setup s = jobOnTheSlowNodeWhileTheFastOneIsBusy(true);
        hosts.get("fast").finish(s.blocker());
        runOnFast("probe");
        assertThat(hosts.get("slow").cancels).isEmpty();
        assertThat(hosts.get("slow").running).containsKey(s.job());
    }

    @Test
    void aMoveTheSlowNodeCannotCarryOutLeavesTheJobRunningThereAndIsNotTriedAgain() {
        Setup s = jobOnTheSlowNodeWhileTheFastOneIsBusy(false);
        hosts.get("slow").failCancels = true;
        hosts.get("fast").finish(s.blocker());
        await().atMost(Duration.ofSeconds(10)).until(() -> !hosts.get("slow").cancels.isEmpty());
        runOnFast("probe");
        runOnFast("probe");   // two more rounds with the fast node free
        assertThat(hosts.get("slow").cancels).as("tried once").hasSize(1);
        assertThat(hosts.get("slow").running).containsKey(s.job());
        assertThat(journal.get(s.job()).orElseThrow().state()).isInstanceOf(JobState.Running.class);
        hosts.get("slow").finish(s.job());
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(s.job()).orElseThrow().state() instanceof JobState.Done);
    }

    @Test
    void aJobSentHomeStaysPinnedThereAfterTheHomeRestarts() throws Exception {
        String blocker = awaitStart("fast", submit("block", false, "fast"));
        JobSpec spec = JobSpec.builder(List.of("sh", "-c", "work")).cwd(dir.toString()).pinnedNode("fast")
                .constraint("speed>=1").build();
        String id = jobs.submit(System.getProperty("user.name"), spec, null);
        assertThat(jobs.sendHome(id, "alice")).isEqualTo("job " + id + " will run here at its home node");
        assertThat(journal.events(id)).extracting(Event::detail)
                .contains("to home by alice; its --on 'speed>=1' no longer applies");

        hosts.get("fast").finish(blocker);
        runOnFast("probe");   // the fast node is free, and the job stays queued for its home

        jobs.close();
        startHome();   // the home restarts: what it knows of the job comes from the journal
        // With the pin lost the job, queued first, would take the free fast node and the probe would wait.
        runOnFast("probe");
        JobRecord r = journal.get(id).orElseThrow();
        assertThat(r.state()).as("still waiting for its home node").isInstanceOf(JobState.Queued.class);
        assertThat(r.spec().pinnedNode()).isEqualTo("home");
        assertThat(r.spec().constraint()).isNull();
        assertThat(hosts.get("fast").started).doesNotContain(id);
    }

    @Test
    void sendingHomeAJobThatHasEndedOrDoesNotExistSaysSoAndChangesNothing() {
        String id = awaitStart("fast", submit("x", true, "fast"));
        hosts.get("fast").finish(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state().terminal());
        JobSpec before = journal.get(id).orElseThrow().spec();
        assertThatThrownBy(() -> jobs.sendHome(id, "alice")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("job " + id + " has ended (done); nothing to send home");
        assertThatThrownBy(() -> journal.pin(id, "home", "alice", 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has ended");
        assertThat(journal.get(id).orElseThrow().spec()).isEqualTo(before);
        assertThatThrownBy(() -> jobs.sendHome("home.999", "alice")).isInstanceOf(java.util.NoSuchElementException.class)
                .hasMessageContaining("no job home.999");
        assertThatThrownBy(() -> journal.pin("home.999", "home", "alice", 1)).isInstanceOf(java.util.NoSuchElementException.class)
                .hasMessageContaining("home.999");
    }

    @Test
    void aHostThatLeftBetweenItsChoiceAndTheStartIsPassedOverAndTheJobStartsElsewhere() {
        // Warm: the fast node is chosen for an unpinned job when both are free.
        runOnFast("warm");
        gone.add("fast");
        String id = submit("work", true, null);
        awaitStart("slow", id);
        assertThat(gone).as("the start looked the fast node up and found it gone").isEmpty();
        assertThat(journal.get(id).orElseThrow().attemptsInBudget()).as("nothing ran on fast: the run on slow is the first counted").isEqualTo(1);
        assertThat(journal.events(id)).extracting(Event::detail).anyMatch(d -> d.contains("no address known for node fast"));
        hosts.get("slow").finish(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state() instanceof JobState.Done);
    }

    @Test
    void aStartThatThrowsBeforeItsHostHearsOfItPlacesTheJobAgainInsteadOfLeavingItPlaced() {
        runOnFast("warm");
        broken.add("fast");
        String id = submit("work", true, null);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state() instanceof JobState.Running);
        assertThat(broken).as("the start made its call on the broken channel").isEmpty();
        assertThat(journal.events(id)).extracting(Event::detail).anyMatch(d -> d.contains("starting it on fast failed: channel broken (test)"));
        String host = journal.get(id).orElseThrow().host();
        hosts.get(host).finish(id);
        await().atMost(Duration.ofSeconds(10)).until(() -> journal.get(id).orElseThrow().state() instanceof JobState.Done);
    }
}
