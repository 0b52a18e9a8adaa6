package io.herd.api;

import io.herd.api.proto.ControlError;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's end of the local control channel: a Unix domain socket in the
 * data directory carrying length-delimited protobuf frames. Any local user may
 * connect; the caller's identity comes from the kernel (SO_PEERCRED) and admin
 * commands are refused to non-admins.
 */
public final class ControlServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ControlServer.class);

    /** Handles one request with one reply. */
    public interface Handler {
        ControlReply handle(ControlRequest request, Caller caller);
    }

    /**
     * A conversation rather than a request: {@code herd run} sends stdin and
     * signals and receives output frames until the job ends. Returns true if it
     * took the connection; it owns both streams until it returns.
     */
    public interface StreamingHandler {
        boolean serve(ControlRequest first, Caller caller, InputStream in, OutputStream out) throws IOException;
    }

    private volatile StreamingHandler streaming = (first, caller, in, out) -> false;

    public void setStreamingHandler(StreamingHandler h) {
        this.streaming = h;
    }

    private static final ThreadLocal<Runnable> AFTER_REPLY = new ThreadLocal<>();

    /**
     * Runs {@code action} once the current request's reply has been written, e.g.
     * stopping the daemon after confirming {@code herd leave}. Call from a handler.
     */
    public static void afterReply(Runnable action) {
        AFTER_REPLY.set(action);
    }

    private final Path socket;
    private final Handler handler;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "herd-control");
        t.setDaemon(true);
        return t;
    });
    private ServerSocketChannel server;

    public ControlServer(Path socket, Handler handler) {
        this.socket = socket;
        this.handler = handler;
    }

    public void start() throws IOException {
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // Everyone may talk to the daemon; what they may do is decided per request from their uid.
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
        Thread acceptor = new Thread(this::acceptLoop, "herd-control-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel ch;
            try {
                ch = server.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                log.warn("control socket accept failed: {}", e.toString());
                continue;
            }
            pool.execute(() -> serve(ch));
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            UnixDomainPrincipal p = ch.getOption(ExtendedSocketOptions.SO_PEERCRED);
            Caller caller = Caller.of(p.user().getName(), p.group().getName());
            InputStream in = new java.io.BufferedInputStream(ChannelStreams.in(ch), 65536);
            OutputStream out = new java.io.BufferedOutputStream(ChannelStreams.out(ch), 65536);
            ControlRequest req = ControlRequest.parseDelimitedFrom(in);
            if (req == null) return;
            if (streaming.serve(req, caller, in, out)) return;
            ControlReply reply;
            try {
                reply = handler.handle(req, caller);
            } catch (RuntimeException e) {
                log.error("control request {} failed", req.getKindCase(), e);
                reply = error("internal error: " + e + " (see the daemon log)", 1);
            }
            reply.writeDelimitedTo(out);
            out.flush();
        } catch (IOException e) {
            log.debug("control connection ended: {}", e.toString());
        } finally {
            Runnable after = AFTER_REPLY.get();
            AFTER_REPLY.remove();
            if (after != null) {
                Thread t = new Thread(after, "herd-after-reply");
                t.start();
            }
        }
    }

    public static ControlReply error(String message, int exitCode) {
        return ControlReply.newBuilder().setError(ControlError.newBuilder().setMessage(message).setExitCode(exitCode)).build();
    }

    @Override
    public void close() {
        try {
            if (server != null) server.close();
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            log.debug("closing control socket: {}", e.toString());
        }
        pool.shutdownNow();
    }
}
