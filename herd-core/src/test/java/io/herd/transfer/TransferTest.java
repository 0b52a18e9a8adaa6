package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.herd.transfer.proto.Chunk;
import io.herd.transfer.proto.GetRequest;
import io.herd.transfer.proto.HasReply;
import io.herd.transfer.proto.HasRequest;
import io.herd.transfer.proto.PutReply;
import io.herd.transfer.proto.TransferServiceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Home → host staging and host → home fetching over in-process gRPC. */
class TransferTest {
    private static final int MB = 1 << 20;

    @TempDir
    Path tmp;

    private Path home;
    private ContentStore hostStore;
    private TransferServer server;
    private final List<Server> servers = new ArrayList<>();
    private final List<ManagedChannel> channels = new ArrayList<>();
    private String name;

    @BeforeEach
    void start() throws Exception {
        home = Files.createDirectories(tmp.resolve("home"));
        hostStore = new ContentStore(tmp.resolve("host-cas"), 1L << 30);
        server = new TransferServer(hostStore);
        name = serve(server.service());
    }

    @AfterEach
    void stop() {
        channels.forEach(ManagedChannel::shutdownNow);
        servers.forEach(Server::shutdownNow);
    }

    private String serve(BindableService service) throws Exception {
        String n = InProcessServerBuilder.generateName();
        servers.add(InProcessServerBuilder.forName(n).addService(service).build().start());
        return n;
    }

    private ManagedChannel channel(String n) {
        ManagedChannel c = InProcessChannelBuilder.forName(n).build();
        channels.add(c);
        return c;
    }

    private Path randomFile(String rel, long size, int seed) throws Exception {
        Path f = home.resolve(rel);
        Files.createDirectories(f.getParent());
        Random r = new Random(seed);
        byte[] buf = new byte[MB];
        try (OutputStream out = Files.newOutputStream(f)) {
            for (long left = size; left > 0; left -= buf.length) {
                r.nextBytes(buf);
                out.write(buf, 0, (int) Math.min(buf.length, left));
            }
        }
        return f;
    }

    @Test
    void a50MbInputIsSentOnceAndASecondEnsureSendsNothing() throws Exception {
        randomFile("scene.pov", 50L * MB, 1);
        randomFile("inc/a.inc", 1000, 2);
        Files.createFile(home.resolve("empty"));
        Manifest m = Manifest.scan(home, List.of(Path.of("scene.pov"), Path.of("inc"), Path.of("empty")));
        TransferClient client = new TransferClient(channel(name));

        client.ensure(m, home);
        assertThat(server.bytesReceived()).isEqualTo(50L * MB + 1000);
        assertThat(m.hashes()).allMatch(hostStore::has);
        try (var in = hostStore.open(m.entry("scene.pov").orElseThrow().sha256())) {
            assertThat(FileOps.hash(in).sha256()).isEqualTo(m.entry("scene.pov").orElseThrow().sha256());
        }

        client.ensure(m, home);
        new TransferClient(channel(name)).ensure(m, home);
        assertThat(server.bytesReceived()).as("nothing more uploaded").isEqualTo(50L * MB + 1000);
    }

    /**
     * Through one client (as the home node does: one client per host), concurrent ensures of the
     * same blob share one upload: exactly once.
     */
    @Test
    void twentyConcurrentEnsuresThroughOneClientUploadOnce() throws Exception {
        long size = 8L * MB;
        randomFile("data.bin", size, 3);
        Manifest m = Manifest.scan(home, List.of(Path.of("data.bin")));
        TransferClient client = new TransferClient(channel(name));

        runConcurrently(20, i -> client.ensure(m, home));

        assertThat(server.bytesReceived()).isEqualTo(size);
        assertThat(client.bytesUploaded()).isEqualTo(size);
    }

    /**
     * Through separate clients (separate home nodes) all twenty may find the blob missing; the
     * server coalesces: one writer, the others held after their data-less first chunk (the
     * server asks them for nothing more, so they stop sending) and then answered "already
     * present". In-process, where a client is ready to send only what the server asked for,
     * that is exactly one copy. Over HTTP/2 each held uploader may also have its flow-control
     * window in flight (64 KiB to a few hundred KiB) before it sees it should stop: once plus a
     * window per extra uploader, discarded by the server.
     */
    @Test
    void twentyConcurrentEnsuresFromSeparateClientsAreCoalescedByTheServer() throws Exception {
        long size = 8L * MB;
        randomFile("data.bin", size, 4);
        Manifest m = Manifest.scan(home, List.of(Path.of("data.bin")));
        List<TransferClient> clients = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            clients.add(new TransferClient(channel(name)));
        }

        runConcurrently(20, i -> clients.get(i).ensure(m, home));

        assertThat(hostStore.has(m.files().get(0).sha256())).isTrue();
        assertThat(server.bytesReceived()).isEqualTo(size);
        assertThat(server.putsHeld()).as("uploads that overlapped and were coalesced").isPositive();
        assertThat(hostStore.dir().resolve("tmp")).isEmptyDirectory();
    }

    interface Job {
        void run(int i) throws Exception;
    }

    private static void runConcurrently(int n, Job job) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                fs.add(pool.submit(() -> {
                    go.await();
                    job.run(k);
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /** The client sends only while the stream is ready: a host that reads nothing gets nothing queued in memory. */
    @Test
    void uploadsRespectFlowControl() throws Exception {
        randomFile("big.bin", 20L * MB, 10);
        Manifest m = Manifest.scan(home, List.of(Path.of("big.bin")));
        CountDownLatch asked = new CountDownLatch(1);
        String stalled = serve(new TransferServiceGrpc.TransferServiceImplBase() {
            @Override
            public void has(HasRequest request, StreamObserver<HasReply> out) {
                out.onNext(HasReply.newBuilder().addAllMissing(request.getSha256List()).build());
                out.onCompleted();
            }

            @Override
            public StreamObserver<Chunk> put(StreamObserver<PutReply> out) {
                var call = (ServerCallStreamObserver<PutReply>) out;
                call.disableAutoRequest();
                call.request(3); // the header and two chunks, then nothing
                asked.countDown();
                return new StreamObserver<>() {
                    @Override
                    public void onNext(Chunk c) {}

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                };
            }
        });
        ManagedChannel ch = channel(stalled);
        TransferClient client = new TransferClient(ch);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> ensure = pool.submit(() -> {
                client.ensure(m, home);
                return null;
            });
            assertThat(asked.await(5, TimeUnit.SECONDS)).isTrue();
            org.awaitility.Awaitility.await().during(java.time.Duration.ofMillis(300)).atMost(java.time.Duration.ofSeconds(5))
                    .until(() -> !ensure.isDone());
            assertThat(client.bytesUploaded()).isEqualTo(2L * FileOps.CHUNK);
            ch.shutdownNow();
            assertThatThrownBy(ensure::get).hasCauseInstanceOf(IOException.class);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void anInputThatChangedAfterTheScanIsRefusedAndNamed() throws Exception {
        randomFile("in.dat", 600_000, 5);
        Manifest m = Manifest.scan(home, List.of(Path.of("in.dat")));
        randomFile("in.dat", 600_000, 6);

        assertThatThrownBy(() -> new TransferClient(channel(name)).ensure(m, home))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("in.dat")
                .hasMessageContaining("changed");
        assertThat(hostStore.count()).isZero();
        // The client cancelled its Put; the host drops the partial temp file when the cancel reaches it.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                assertThat(hostStore.dir().resolve("tmp")).isEmptyDirectory());
    }

    @Test
    void fetchWritesAtomicallyAndVerifies() throws Exception {
        byte[] data = new byte[3 * FileOps.CHUNK + 17];
        new Random(7).nextBytes(data);
        String sha = hostStore.put(new ByteArrayInputStream(data));
        Path dest = tmp.resolve("back/out.bin");
        Files.createDirectories(dest.getParent());
        Files.writeString(dest, "old");

        new TransferClient(channel(name)).fetch(sha, dest);

        assertThat(Files.readAllBytes(dest)).isEqualTo(data);
        assertThat(dest.getParent()).isDirectoryNotContaining("glob:**/.herd-*");
        assertThat(server.bytesSent()).isEqualTo(data.length);
    }

    @Test
    void fetchOfAnEmptyBlob() throws Exception {
        String sha = hostStore.put(new ByteArrayInputStream(new byte[0]));
        Path dest = tmp.resolve("empty");
        new TransferClient(channel(name)).fetch(sha, dest);
        assertThat(dest).isEmptyFile();
    }

    @Test
    void aBlobCorruptOnTheHostIsDetectedDeletedAndNothingIsWritten() throws Exception {
        byte[] data = new byte[MB];
        new Random(8).nextBytes(data);
        String sha = hostStore.put(new ByteArrayInputStream(data));
        Path blob = hostStore.path(sha);
        Files.setPosixFilePermissions(blob, PosixFilePermissions.fromString("rw-r--r--"));
        data[500_000] ^= 1;
        Files.write(blob, data); // a guest wrote through its hard link, or the disk flipped a bit
        Path dest = tmp.resolve("out.bin");

        assertThatThrownBy(() -> new TransferClient(channel(name)).fetch(sha, dest))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("corrupt");
        assertThat(dest).doesNotExist();
        assertThat(tmp).isDirectoryNotContaining("glob:**/.herd-*");
        assertThat(hostStore.has(sha)).as("the corrupt blob is gone, so the next staging sends it again").isFalse();
    }

    @Test
    void theClientVerifiesWhatArrivesEvenFromAServerThatLies() throws Exception {
        String sha = ContentStoreTest.sha("right".getBytes());
        String liar = serve(new TransferServiceGrpc.TransferServiceImplBase() {
            @Override
            public void get(GetRequest request, StreamObserver<Chunk> out) {
                out.onNext(Chunk.newBuilder().setSha256(request.getSha256()).setTotalSize(5)
                        .setData(ByteString.copyFromUtf8("wrong")).build());
                out.onCompleted();
            }
        });
        Path dest = tmp.resolve("out.bin");

        assertThatThrownBy(() -> new TransferClient(channel(liar)).fetch(sha, dest))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("arrived corrupt");
        assertThat(dest).doesNotExist();
        try (Stream<Path> left = Files.list(tmp)) {
            assertThat(left).noneMatch(p -> p.getFileName().toString().startsWith(FileOps.TEMP_PREFIX));
        }
    }

    @Test
    void fetchOfAMissingBlobSaysSo() {
        String sha = ContentStoreTest.sha("never stored".getBytes());
        assertThatThrownBy(() -> new TransferClient(channel(name)).fetch(sha, tmp.resolve("x")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("not in this node's content store");
        assertThat(tmp.resolve("x")).doesNotExist();
    }

    @Test
    void aBlobTooLargeForTheHostIsRefusedWithAClearError() throws Exception {
        ContentStore tiny = new ContentStore(tmp.resolve("tiny-cas"), 1000);
        String small = serve(new TransferServer(tiny).service());
        randomFile("big.bin", 5000, 9);
        Manifest m = Manifest.scan(home, List.of(Path.of("big.bin")));

        assertThatThrownBy(() -> new TransferClient(channel(small)).ensure(m, home))
                .isInstanceOf(StoreFullException.class)
                .hasMessageContaining("big.bin")
                .hasMessageContaining("larger than the whole content store");
    }
}
