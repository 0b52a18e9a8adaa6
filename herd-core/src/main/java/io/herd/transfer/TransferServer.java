package io.herd.transfer;

import com.google.protobuf.ByteString;
import io.grpc.BindableService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.herd.transfer.proto.Chunk;
import io.herd.transfer.proto.GetRequest;
import io.herd.transfer.proto.HasReply;
import io.herd.transfer.proto.HasRequest;
import io.herd.transfer.proto.PutReply;
import io.herd.transfer.proto.TransferServiceGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The receiving and serving side of {@code herd.transfer.TransferService}, over one
 * {@link ContentStore}. Add {@link #service()} to the node's gRPC server behind its
 * authentication; this class authenticates nothing.
 *
 * <p>Memory stays flat: a Put asks gRPC for the next chunk only after writing the previous
 * one, and a Get reads the next chunk only while the stream is ready, so at most a few chunks
 * per call are in memory whatever the blob's size.
 *
 * <p>Concurrent Puts of one blob are coalesced: the first becomes the writer; a later one is
 * held after its first chunk (it is not asked for more, so its client stops sending) until the
 * writer finishes, then answered {@code already_present}, or becomes the writer if the first
 * failed.
 */
public final class TransferServer {
    private static final Logger log = LoggerFactory.getLogger(TransferServer.class);
    /** Most hashes one Has call may carry (64 hex characters each: under 1 MB). */
    static final int MAX_HAS = 10_000;

    private final ContentStore store;
    private final ConcurrentMap<String, CompletableFuture<Void>> writing = new ConcurrentHashMap<>();
    private final AtomicLong bytesReceived = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong putsHeld = new AtomicLong();
    private final BindableService service = new Service();

    public TransferServer(ContentStore store) {
        this.store = store;
    }

    /** The gRPC service, to add to a server (behind the caller's own authentication). */
    public BindableService service() {
        return service;
    }

    public ContentStore store() {
        return store;
    }

    /** Data bytes read from Put calls, kept or not (for metrics and the once-per-host tests). */
    public long bytesReceived() {
        return bytesReceived.get();
    }

    /** Puts that arrived while another Put of the same blob was being written, and waited for it. */
    long putsHeld() {
        return putsHeld.get();
    }

    /** Data bytes sent by Get calls. */
    public long bytesSent() {
        return bytesSent.get();
    }

    private final class Service extends TransferServiceGrpc.TransferServiceImplBase {
        @Override
        public void has(HasRequest request, StreamObserver<HasReply> out) {
            if (request.getSha256Count() > MAX_HAS) {
                out.onError(Status.INVALID_ARGUMENT.withDescription("Has carries at most " + MAX_HAS
                        + " hashes, got " + request.getSha256Count()).asRuntimeException());
                return;
            }
            HasReply.Builder reply = HasReply.newBuilder();
            for (String sha : request.getSha256List()) {
                if (!FileOps.isSha256(sha)) {
                    out.onError(invalidSha(sha));
                    return;
                }
                if (!store.has(sha)) {
                    reply.addMissing(sha);
                }
            }
            out.onNext(reply.build());
            out.onCompleted();
        }

        @Override
        public StreamObserver<Chunk> put(StreamObserver<PutReply> out) {
            ServerCallStreamObserver<PutReply> call = (ServerCallStreamObserver<PutReply>) out;
            call.disableAutoRequest();
            PutCall put = new PutCall(call);
            call.setOnCancelHandler(put::cancelled);
            call.request(1);
            return put;
        }

        @Override
        public void get(GetRequest request, StreamObserver<Chunk> out) {
            String sha = request.getSha256();
            if (!FileOps.isSha256(sha)) {
                out.onError(invalidSha(sha));
                return;
            }
            InputStream in;
            long size;
            try {
                size = store.blobSize(sha);
                in = store.open(sha);
            } catch (NoSuchFileException e) {
                out.onError(Status.NOT_FOUND.withDescription("blob " + sha + " is not in this node's content store"
                        + " (never stored, or evicted); stage it again").asRuntimeException());
                return;
            } catch (IOException e) {
                out.onError(Status.INTERNAL.withDescription("reading blob " + sha + ": " + e.getMessage()).asRuntimeException());
                return;
            }
            GetCall get = new GetCall((ServerCallStreamObserver<Chunk>) out, sha, size, in);
            ((ServerCallStreamObserver<Chunk>) out).setOnCancelHandler(get::close);
            ((ServerCallStreamObserver<Chunk>) out).setOnReadyHandler(get::pump);
            get.pump();
        }
    }

    private static StatusRuntimeException invalidSha(String sha) {
        return Status.INVALID_ARGUMENT.withDescription("not a lowercase hex SHA-256: " + FileOps.abbreviate(sha))
                .asRuntimeException();
    }

    private static Status statusOf(IOException e) {
        if (e instanceof ContentMismatchException) {
            return Status.INVALID_ARGUMENT.withDescription(e.getMessage());
        }
        if (e instanceof StoreFullException) {
            return Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage());
        }
        return Status.INTERNAL.withDescription("storing blob: " + e);
    }

    /** One Put call. Callbacks from gRPC are serialised; {@link #resume} comes from another call's thread. */
    private final class PutCall implements StreamObserver<Chunk> {
        private final ServerCallStreamObserver<PutReply> out;
        private String sha;
        private long size;
        private ByteString held;           // first chunk's data while waiting for another writer
        private boolean halfClosed;
        private boolean done;
        private ContentStore.Incoming incoming;
        private CompletableFuture<Void> mine;
        private long received;

        PutCall(ServerCallStreamObserver<PutReply> out) {
            this.out = out;
        }

        @Override
        public void onNext(Chunk chunk) {
            CompletableFuture<Void> waitFor = null;
            synchronized (this) {
                if (done) {
                    return;
                }
                received += chunk.getData().size();
                bytesReceived.addAndGet(chunk.getData().size());
                if (sha == null) {
                    if (!FileOps.isSha256(chunk.getSha256())) {
                        fail(invalidSha(chunk.getSha256()).getStatus()
                                .augmentDescription("the first chunk of a Put must carry the blob's SHA-256"));
                        return;
                    }
                    if (chunk.getTotalSize() < 0) {
                        fail(Status.INVALID_ARGUMENT.withDescription("negative total_size " + chunk.getTotalSize()));
                        return;
                    }
                    sha = chunk.getSha256();
                    size = chunk.getTotalSize();
                    held = chunk.getData();
                    waitFor = claimOrWait();
                } else {
                    write(chunk.getData());
                }
            }
            if (waitFor != null) {
                waitFor.whenComplete((v, e) -> resume());
            }
        }

        /** Under the lock: becomes the writer (and returns null), answers at once, or returns the writer to wait for. */
        private CompletableFuture<Void> claimOrWait() {
            if (store.has(sha)) {
                answer(true);
                return null;
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            CompletableFuture<Void> other = writing.putIfAbsent(sha, f);
            if (other != null) {
                putsHeld.incrementAndGet();
                return other;
            }
            mine = f;
            try {
                incoming = store.incoming(sha, size);
            } catch (IOException e) {
                fail(statusOf(e));
                return null;
            }
            ByteString first = held;
            held = null;
            write(first);
            if (!done && halfClosed) {
                commit();
            }
            return null;
        }

        private void resume() {
            CompletableFuture<Void> waitFor;
            synchronized (this) {
                if (done) {
                    return;
                }
                waitFor = claimOrWait();
            }
            if (waitFor != null) {
                waitFor.whenComplete((v, e) -> resume());
            }
        }

        private void write(ByteString data) {
            try {
                incoming.write(data.asReadOnlyByteBuffer());
            } catch (IOException e) {
                fail(statusOf(e));
                return;
            }
            out.request(1);
        }

        @Override
        public void onCompleted() {
            synchronized (this) {
                if (done) {
                    return;
                }
                if (sha == null) {
                    fail(Status.INVALID_ARGUMENT.withDescription("a Put carried no chunk"));
                    return;
                }
                halfClosed = true;
                if (incoming != null) {
                    commit();
                }
                // else: waiting for another writer; resume() finishes.
            }
        }

        private void commit() {
            try {
                incoming.commit();
            } catch (IOException e) {
                fail(statusOf(e));
                return;
            }
            answer(false);
        }

        private void answer(boolean alreadyPresent) {
            done = true;
            try {
                out.onNext(PutReply.newBuilder().setSha256(sha).setAlreadyPresent(alreadyPresent)
                        .setBytesReceived(received).build());
                out.onCompleted();
            } catch (RuntimeException e) {
                log.debug("Put of {} answered after the client left: {}", sha, e.toString());
            }
            release();
        }

        private void fail(Status status) {
            done = true;
            if (incoming != null) {
                incoming.abort();
            }
            try {
                out.onError(status.asRuntimeException());
            } catch (RuntimeException e) {
                log.debug("Put of {} failed after the client left: {}", sha, e.toString());
            }
            release();
        }

        @Override
        public void onError(Throwable t) {
            cancelled();
        }

        synchronized void cancelled() {
            if (done) {
                return;
            }
            done = true;
            if (incoming != null) {
                incoming.abort();
            }
            release();
        }

        /** Lets waiting Puts of the same blob go on. Completing runs their callbacks, which take their own locks only. */
        private void release() {
            held = null;
            CompletableFuture<Void> f = mine;
            mine = null;
            if (f != null) {
                writing.remove(sha, f);
                f.complete(null);
            }
        }
    }

    /** One Get call: reads and sends while the client keeps up, hashing as it goes. */
    private final class GetCall {
        private final ServerCallStreamObserver<Chunk> out;
        private final String sha;
        private final long size;
        private final InputStream in;
        private final MessageDigest md = FileOps.sha256();
        private final byte[] buf = new byte[FileOps.CHUNK];
        private boolean first = true;
        private boolean done;
        private long sent;

        GetCall(ServerCallStreamObserver<Chunk> out, String sha, long size, InputStream in) {
            this.out = out;
            this.sha = sha;
            this.size = size;
            this.in = in;
        }

        synchronized void pump() {
            try {
                while (!done && out.isReady()) {
                    int n = in.readNBytes(buf, 0, buf.length);
                    if (n > 0) {
                        md.update(buf, 0, n);
                        sent += n;
                    }
                    if (n > 0 || first) {
                        Chunk.Builder c = Chunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n));
                        if (first) {
                            c.setSha256(sha).setTotalSize(size);
                            first = false;
                        }
                        out.onNext(c.build());
                        bytesSent.addAndGet(n);
                    }
                    if (n < buf.length) {
                        finish();
                    }
                }
            } catch (IOException e) {
                done = true;
                close();
                out.onError(Status.INTERNAL.withDescription("reading blob " + sha + ": " + e).asRuntimeException());
            } catch (StatusRuntimeException e) {
                close(); // cancelled by the client
            }
        }

        private void finish() {
            done = true;
            close();
            String actual = FileOps.hex(md);
            if (!actual.equals(sha) || sent != size) {
                store.discard(sha);
                out.onError(Status.DATA_LOSS.withDescription("blob " + sha + " is corrupt on this node (its bytes hash to "
                        + actual + "); it has been deleted, stage it again").asRuntimeException());
                return;
            }
            out.onCompleted();
        }

        synchronized void close() {
            done = true;
            try {
                in.close();
            } catch (IOException ignored) {
                // Read-only file: nothing to lose.
            }
        }
    }
}
