package io.herd.transfer;

import com.google.protobuf.ByteString;
import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.herd.transfer.Manifest.FileEntry;
import io.herd.transfer.proto.Chunk;
import io.herd.transfer.proto.GetRequest;
import io.herd.transfer.proto.HasReply;
import io.herd.transfer.proto.HasRequest;
import io.herd.transfer.proto.PutReply;
import io.herd.transfer.proto.TransferServiceGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The home node's side of staging to one host: {@link #ensure} uploads what the host lacks,
 * {@link #fetch} downloads a blob. One client per host channel; thread-safe, and meant to be
 * shared by every job staged to that host, because that is what makes uploads happen once.
 */
public final class TransferClient {
    /** Blobs uploaded at once per client; more only adds seeks on the home disk. */
    private static final int PARALLEL_UPLOADS = 4;
    private static final long HAS_DEADLINE_SECONDS = 60;

    private final TransferServiceGrpc.TransferServiceStub async;
    private final TransferServiceGrpc.TransferServiceBlockingStub blocking;
    private final ConcurrentMap<String, CompletableFuture<Void>> uploading = new ConcurrentHashMap<>();
    private final Semaphore uploadSlots = new Semaphore(PARALLEL_UPLOADS);
    private final AtomicLong bytesUploaded = new AtomicLong();

    /** Over a channel to the host's {@link TransferServer} (typically the node's mutual-TLS {@code ManagedChannel}). */
    public TransferClient(Channel channel) {
        this.async = TransferServiceGrpc.newStub(channel);
        this.blocking = TransferServiceGrpc.newBlockingStub(channel);
    }

    /** Data bytes this client has sent in Put calls. */
    public long bytesUploaded() {
        return bytesUploaded.get();
    }

    /**
     * Makes every blob of {@code m} present on the host: one Has call for all hashes (batched
     * above 10,000), then uploads of the missing ones only, read from {@code baseDir}. Concurrent
     * calls that need the same blob share one upload. Returns when all are stored; throws,
     * naming the file, when one cannot be (it changed since the scan, the host is full, …).
     */
    public void ensure(Manifest m, Path baseDir) throws IOException {
        Path realBase = baseDir.toRealPath();
        ensure(m, e -> {
            Path file = realBase.resolve(e.path()).toRealPath();
            if (!file.startsWith(realBase)) {
                throw new UnsafePathException("input " + e.path() + " now resolves to " + file
                        + ", outside the job's directory " + realBase + "; it was not sent");
            }
            return Files.newInputStream(file);
        });
    }

    /**
     * As {@link #ensure(Manifest, Path)}, reading each missing blob from the local content store
     * (the home node's snapshot of a job's inputs), where the hash was already checked on the way in.
     */
    public void ensure(Manifest m, ContentStore local) throws IOException {
        ensure(m, e -> local.open(e.sha256()));
    }

    /** Opens the bytes to upload for one manifest entry. */
    @FunctionalInterface
    private interface Source {
        InputStream open(FileEntry e) throws IOException;
    }

    private void ensure(Manifest m, Source source) throws IOException {
        Map<String, FileEntry> bySha = new LinkedHashMap<>();
        for (FileEntry e : m.files()) {
            bySha.putIfAbsent(e.sha256(), e);
        }
        List<String> missing = missing(new ArrayList<>(bySha.keySet()));
        if (missing.isEmpty()) {
            return;
        }
        record Pending(FileEntry entry, CompletableFuture<Void> upload, boolean own) {}
        List<Pending> pending = new ArrayList<>();
        for (String sha : missing) {
            FileEntry e = bySha.get(sha);
            if (e == null) {
                throw new IOException("the host's Has reply named " + FileOps.abbreviate(sha) + ", which was not asked for");
            }
            CompletableFuture<Void> mine = new CompletableFuture<>();
            CompletableFuture<Void> other = uploading.putIfAbsent(sha, mine);
            if (other != null) {
                pending.add(new Pending(e, other, false));
            } else {
                startUpload(e, source, mine);
                pending.add(new Pending(e, mine, true));
            }
        }
        for (Pending p : pending) {
            try {
                await(p.upload(), p.entry());
            } catch (IOException failed) {
                if (p.own()) {
                    throw failed;
                }
                // Someone else's upload of the same content failed (their file may have changed):
                // ours may still succeed, so send it ourselves.
                CompletableFuture<Void> retry = new CompletableFuture<>();
                startUpload(p.entry(), source, retry);
                await(retry, p.entry());
            }
        }
    }

    private List<String> missing(List<String> hashes) throws IOException {
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < hashes.size(); i += TransferServer.MAX_HAS) {
            List<String> batch = hashes.subList(i, Math.min(hashes.size(), i + TransferServer.MAX_HAS));
            try {
                HasReply reply = blocking.withDeadlineAfter(HAS_DEADLINE_SECONDS, TimeUnit.SECONDS)
                        .has(HasRequest.newBuilder().addAllSha256(batch).build());
                missing.addAll(reply.getMissingList());
            } catch (StatusRuntimeException e) {
                throw new IOException("asking the host which inputs it already holds failed: " + describe(e.getStatus()), e);
            }
        }
        return missing;
    }

    private void startUpload(FileEntry e, Source source, CompletableFuture<Void> done) throws IOException {
        try {
            uploadSlots.acquire();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            uploading.remove(e.sha256(), done);
            done.completeExceptionally(new InterruptedIOException("interrupted while staging " + e.path()));
            throw new InterruptedIOException("interrupted while staging " + e.path());
        }
        done.whenComplete((v, t) -> {
            uploadSlots.release();
            uploading.remove(e.sha256(), done);
        });
        InputStream in;
        try {
            in = source.open(e);
        } catch (NoSuchFileException ex) {
            done.completeExceptionally(new NoSuchFileException(e.path(), null,
                    "input " + e.path() + " disappeared before it could be staged"));
            return;
        } catch (IOException ex) {
            done.completeExceptionally(ex);
            return;
        }
        async.put(new Upload(e, in, done));
    }

    private static void await(CompletableFuture<Void> upload, FileEntry e) throws IOException {
        try {
            upload.get();
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while staging " + e.path());
        } catch (ExecutionException ee) {
            Throwable t = ee.getCause();
            if (t instanceof IOException io) {
                throw io;
            }
            throw new IOException("staging " + e.path() + " failed: " + t, t);
        }
    }

    /** One Put: sends while the stream is ready, so at most the flow-control window is buffered. */
    private final class Upload implements ClientResponseObserver<Chunk, PutReply> {
        private final FileEntry entry;
        private final InputStream in;
        private final CompletableFuture<Void> done;
        private final MessageDigest md = FileOps.sha256();
        private final byte[] buf = new byte[FileOps.CHUNK];
        private ClientCallStreamObserver<Chunk> call;
        private boolean first = true;
        private boolean sending = true;
        private long sent;

        Upload(FileEntry entry, InputStream in, CompletableFuture<Void> done) {
            this.entry = entry;
            this.in = in;
            this.done = done;
        }

        @Override
        public void beforeStart(ClientCallStreamObserver<Chunk> call) {
            this.call = call;
            call.setOnReadyHandler(this::pump);
        }

        private synchronized void pump() {
            try {
                while (sending && call.isReady()) {
                    if (first) {
                        // Header alone: a server already receiving this blob from someone else holds
                        // the call here, before any data is sent.
                        call.onNext(Chunk.newBuilder().setSha256(entry.sha256()).setTotalSize(entry.size()).build());
                        first = false;
                        continue;
                    }
                    int n = in.readNBytes(buf, 0, buf.length);
                    if (sent + n > entry.size()) {
                        throw changed();
                    }
                    md.update(buf, 0, n);
                    sent += n;
                    if (n > 0) {
                        call.onNext(Chunk.newBuilder().setData(ByteString.copyFrom(buf, 0, n)).build());
                        bytesUploaded.addAndGet(n);
                    }
                    if (n < buf.length) {
                        stop();
                        if (sent != entry.size() || !FileOps.hex(md).equals(entry.sha256())) {
                            throw changed();
                        }
                        call.onCompleted();
                    }
                }
            } catch (IOException e) {
                stop();
                call.cancel("staging " + entry.path() + " failed", e);
                done.completeExceptionally(e);
            }
        }

        private IOException changed() {
            return new ContentMismatchException("input " + entry.path() + " changed after it was scanned"
                    + " (its content no longer matches); nothing was stored, run the job again",
                    entry.sha256(), "");
        }

        private void stop() {
            sending = false;
            try {
                in.close();
            } catch (IOException ignored) {
                // Only read from.
            }
        }

        @Override
        public synchronized void onNext(PutReply reply) {
            stop(); // the host has the blob (maybe from someone else): no more to send
        }

        @Override
        public synchronized void onError(Throwable t) {
            stop();
            Status s = Status.fromThrowable(t);
            IOException e = s.getCode() == Status.Code.RESOURCE_EXHAUSTED
                    ? new StoreFullException("staging " + entry.path() + " failed: the host is full: " + s.getDescription(), t)
                    : s.getCode() == Status.Code.INVALID_ARGUMENT
                    ? new ContentMismatchException("staging " + entry.path() + " was refused by the host: "
                            + s.getDescription() + "; if the file changed while staging, run the job again", entry.sha256(), "")
                    : new IOException("staging " + entry.path() + " failed: " + describe(s), t);
            done.completeExceptionally(e);
        }

        @Override
        public synchronized void onCompleted() {
            stop();
            done.complete(null);
        }
    }

    /**
     * Downloads blob {@code sha} into {@code dest} (replacing it, owner-only permissions):
     * written to a temp file beside it, checked against the hash, fsynced and renamed, so
     * {@code dest} is never partial or wrong. A blob that arrives corrupt throws
     * {@link ContentMismatchException} and writes nothing.
     */
    public void fetch(String sha, Path dest) throws IOException {
        FileOps.requireSha256(sha);
        Path target = dest.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, FileOps.TEMP_PREFIX, FileOps.TEMP_SUFFIX);
        Context.CancellableContext ctx = Context.current().withCancellation();
        boolean ok = false;
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                Iterator<Chunk> chunks = ctx.call(() -> blocking.get(GetRequest.newBuilder().setSha256(sha).build()));
                MessageDigest md = FileOps.sha256();
                long size = -1;
                long received = 0;
                while (chunks.hasNext()) {
                    Chunk c = chunks.next();
                    if (size < 0) {
                        if (!sha.equals(c.getSha256()) || c.getTotalSize() < 0) {
                            throw new ContentMismatchException("the host answered a request for blob " + sha
                                    + " with blob " + FileOps.abbreviate(c.getSha256()) + "; nothing was written", sha, c.getSha256());
                        }
                        size = c.getTotalSize();
                    }
                    received += c.getData().size();
                    if (received > size) {
                        throw new ContentMismatchException("blob " + sha + " from the host is longer than the "
                                + size + " bytes announced; nothing was written", sha, "");
                    }
                    for (var b : c.getData().asReadOnlyByteBufferList()) {
                        md.update(b.duplicate());
                        FileOps.writeFully(ch, b);
                    }
                }
                String actual = FileOps.hex(md);
                if (received != size || !actual.equals(sha)) {
                    throw new ContentMismatchException("blob " + sha + " arrived corrupt from the host (" + received
                            + " bytes hashing to " + actual + "); nothing was written, fetch it again", sha, actual);
                }
                ch.force(true);
            } catch (StatusRuntimeException e) {
                throw fetchFailed(sha, e.getStatus(), e);
            } catch (IOException | RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IOException("fetching blob " + sha + " failed: " + e, e);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            ok = true;
        } finally {
            ctx.cancel(null);
            if (!ok) {
                Files.deleteIfExists(temp);
            }
        }
        FileOps.syncDirectory(dir);
    }

    private static IOException fetchFailed(String sha, Status s, Throwable cause) {
        return switch (s.getCode()) {
            case NOT_FOUND -> new NoSuchFileException(sha, null, s.getDescription());
            case DATA_LOSS -> new ContentMismatchException(s.getDescription(), sha, "");
            default -> new IOException("fetching blob " + sha + " failed: " + describe(s), cause);
        };
    }

    private static String describe(Status s) {
        return s.getDescription() == null ? s.getCode().toString() : s.getCode() + ": " + s.getDescription();
    }
}
