package io.herd.api;

import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/** The CLI's end of the control channel. */
public final class ControlClient {

    /** No daemon answers on the data directory's socket. */
    public static final class NoDaemonException extends IOException {
        public NoDaemonException(Path dataDir) {
            super("no herd daemon is running for " + dataDir + "; start one with `herd init` or `herd join`");
        }
    }

    /** The daemon answered with an error meant for the user. */
    public static final class DaemonError extends IOException {
        private final int exitCode;

        public DaemonError(String message, int exitCode) {
            super(message);
            this.exitCode = exitCode == 0 ? 1 : exitCode;
        }

        public int exitCode() { return exitCode; }
    }

    private ControlClient() {}

    public static boolean isRunning(Path dataDir) {
        try (SocketChannel ch = connect(dataDir)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static SocketChannel connect(Path dataDir) throws IOException {
        Path sock = dataDir.resolve("herd.sock");
        if (!Files.exists(sock)) throw new NoDaemonException(dataDir);
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(sock));
        } catch (IOException e) {
            ch.close();
            throw new NoDaemonException(dataDir);
        }
        return ch;
    }

    /** Sends one request and returns the reply; a daemon-side error becomes {@link DaemonError}. */
    public static ControlReply call(Path dataDir, ControlRequest request) throws IOException {
        try (SocketChannel ch = connect(dataDir)) {
            OutputStream out = Channels.newOutputStream(ch);
            InputStream in = Channels.newInputStream(ch);
            request.writeDelimitedTo(out);
            out.flush();
            ControlReply reply = ControlReply.parseDelimitedFrom(in);
            if (reply == null) throw new IOException("the herd daemon for " + dataDir + " closed the connection; see " + dataDir.resolve("daemon.log"));
            if (reply.hasError()) throw new DaemonError(reply.getError().getMessage(), reply.getError().getExitCode());
            return reply;
        }
    }
}
