package io.herd.host;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.herd.api.RequireClusterCertificate;
import io.herd.api.proto.Exited;
import io.herd.api.proto.JobLaunch;
import io.herd.api.proto.JobServiceGrpc;
import io.herd.api.proto.RunEvent;
import io.herd.api.proto.RunInput;
import io.herd.executor.Cgroups;
import io.herd.executor.ProcessRunner;
import io.herd.transfer.ContentStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A start sent ahead ({@code wait_for_slot_millis}) to a host whose slots are all taken waits
 * there for the next slot to free, rather than being refused: the host's side of sending ahead.
 * One slot, the node owner's own jobs (no sandbox needed), over an in-process channel.
 */
class SlotWaitTest {

    private static final String NODE = "h";

    @TempDir
    Path dir;
    private HostJobs host;
    private Server server;
    private ManagedChannel channel;

    @BeforeEach
    void start() throws Exception {
        host = new HostJobs(NODE, dir.resolve("sandboxes"), new ProcessRunner(Cgroups.none("not used in this test")),
                new ContentStore(dir.resolve("store"), 1L << 30), 1, Clock.systemUTC());
        // The caller is this node itself, as its certificate would say: its user's jobs are the owner's.
        ServerInterceptor self = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
                return Contexts.interceptCall(Context.current().withValue(RequireClusterCertificate.PEER, NODE), call, headers, next);
            }
        };
        String name = "slot-wait-" + System.nanoTime();
        server = InProcessServerBuilder.forName(name).addService(ServerInterceptors.intercept(host, self)).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
    }

    @AfterEach
    void stop() throws Exception {
        channel.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        host.close();
    }

    /** One attempt's stream as the home sees it. */
    final class Run implements StreamObserver<RunEvent> {
        final BlockingQueue<RunEvent> events = new LinkedBlockingQueue<>();
        final ClientCallStreamObserver<RunInput> toHost;

        Run(String id, int waitMillis, String... argv) {
            toHost = (ClientCallStreamObserver<RunInput>) JobServiceGrpc.newStub(channel).run(this);
            JobLaunch launch = JobLaunch.newBuilder().setJobId(id).setAttempt(1).setUser(System.getProperty("user.name"))
                    .addAllArgv(java.util.List.of(argv)).setCwd(dir.toString()).setShared(true).setCpus(1)
                    .setStdin(true).setWaitForSlotMillis(waitMillis).build();
            toHost.onNext(RunInput.newBuilder().setStart(launch).build());
        }

        RunEvent next(long millis) throws InterruptedException {
            return events.poll(millis, TimeUnit.MILLISECONDS);
        }

        RunEvent.KindCase nextKind() throws InterruptedException {
            RunEvent e = next(10_000);
            assertThat(e).as("an event within 10 s").isNotNull();
            return e.getKindCase();
        }

        Exited exited() throws InterruptedException {
            for (RunEvent e = next(10_000); e != null; e = next(10_000)) {
                if (e.hasExited()) return e.getExited();
            }
            throw new AssertionError("no end within 10 s");
        }

        void endStdin() {
            toHost.onNext(RunInput.newBuilder().setStdinClosed(true).build());
        }

        @Override
        public void onNext(RunEvent e) {
            events.add(e);
        }

        @Override
        public void onError(Throwable t) {
        }

        @Override
        public void onCompleted() {
        }
    }

    private void awaitWaiting(int n) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> host.waitingForSlots() == n);
    }

    /** Runs until its stdin closes, then exits {@code code}. */
    private static String[] untilStdinCloses(int code) {
        return new String[] {"sh", "-c", "cat >/dev/null; exit " + code};
    }

    @Test
    void aJobSentAheadStartsWhenTheSlotFreesAndTheEndThatFreedItCountsIt() throws Exception {
        Run first = new Run("j1", 0, untilStdinCloses(3));
        assertThat(first.nextKind()).isEqualTo(RunEvent.KindCase.STARTED);
        Run ahead = new Run("j2", 10_000, untilStdinCloses(4));
        awaitWaiting(1);
        assertThat(ahead.next(300)).as("no slot: it waits, neither started nor refused").isNull();
        assertThat(host.slotsInUse()).isEqualTo(1);

        first.endStdin();
        Exited end = first.exited();
        assertThat(end.getCode()).isEqualTo(3);
        assertThat(end.getHostGuestJobs()).as("the freed slot went to the waiting job before the end was told").isEqualTo(1);
        assertThat(ahead.nextKind()).isEqualTo(RunEvent.KindCase.STARTED);
        ahead.endStdin();
        assertThat(ahead.exited().getCode()).isEqualTo(4);
        assertThat(host.slotsInUse()).isZero();
    }

    @Test
    void aJobWhoseWaitIsUpIsRefusedForWantOfASlotAndAStartNotSentAheadIsRefusedAtOnce() throws Exception {
        Run first = new Run("j1", 0, untilStdinCloses(0));
        assertThat(first.nextKind()).isEqualTo(RunEvent.KindCase.STARTED);

        Run now = new Run("j2", 0, "true");
        Exited refused = now.exited();
        assertThat(refused.getRefused()).isTrue();
        assertThat(refused.getError()).startsWith(HostJobs.NO_FREE_SLOT).doesNotContain("waited");

        Run ahead = new Run("j3", 200, "true");
        Exited gaveUp = ahead.exited();
        assertThat(gaveUp.getRefused()).as("nothing ran: the home places it again without spending an attempt").isTrue();
        assertThat(gaveUp.getRetry()).isTrue();
        assertThat(gaveUp.getError()).startsWith(HostJobs.NO_FREE_SLOT).contains("waited 200 ms");

        first.endStdin();
        assertThat(first.exited().getCode()).isZero();
        assertThat(host.slotsInUse()).isZero();
    }

    @Test
    void oneJobWaitsPerSlotAndOneCancelledWhileWaitingNeverStarts() throws Exception {
        Path marker = dir.resolve("cancelled-ran");
        Run first = new Run("j1", 0, untilStdinCloses(0));
        assertThat(first.nextKind()).isEqualTo(RunEvent.KindCase.STARTED);
        Run cancelled = new Run("j2", 10_000, "touch", marker.toString());
        awaitWaiting(1);
        assertThat(cancelled.next(200)).isNull();

        Run over = new Run("j3", 10_000, "true");
        Exited refused = over.exited();
        assertThat(refused.getRefused()).as("one slot, one waiting already").isTrue();
        assertThat(refused.getError()).startsWith(HostJobs.NO_FREE_SLOT);

        cancelled.toHost.cancel("cancelled by the test", null);
        awaitWaiting(0);   // the host hears of the cancel on its own thread
        Run next = new Run("j4", 10_000, untilStdinCloses(5));
        awaitWaiting(1);
        assertThat(next.next(200)).as("the cancelled one's place is free: this one waits").isNull();

        first.endStdin();
        assertThat(first.exited().getCode()).isZero();
        assertThat(next.nextKind()).as("the slot goes past the cancelled job to the next").isEqualTo(RunEvent.KindCase.STARTED);
        next.endStdin();
        assertThat(next.exited().getCode()).isEqualTo(5);
        assertThat(marker).as("the job cancelled while it waited never ran").doesNotExist();
    }
}
