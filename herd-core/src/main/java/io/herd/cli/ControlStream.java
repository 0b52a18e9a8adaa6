package io.herd.cli;

import io.herd.api.ChannelStreams;
import io.herd.api.ControlClient;
import io.herd.api.proto.ClientInput;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.node.DataDir;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;

/** A conversation with the local daemon: one request, then a stream of replies (logs, arrays). */
final class ControlStream implements AutoCloseable {
    private final DataDir dir;
    private final SocketChannel ch;
    private final OutputStream up;
    private final InputStream down;

    private ControlStream(DataDir dir, SocketChannel ch) {
        this.dir = dir;
        this.ch = ch;
        this.up = new BufferedOutputStream(ChannelStreams.out(ch), 65536);
        this.down = new BufferedInputStream(ChannelStreams.in(ch), 65536);
    }

    static ControlStream open(DataDir dir, ControlRequest first) throws IOException {
        if (!ControlClient.isRunning(dir.root())) throw new ControlClient.NoDaemonException(dir.root());
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(dir.socket()));
        } catch (IOException e) {
            ch.close();
            throw new ControlClient.NoDaemonException(dir.root());
        }
        ControlStream s = new ControlStream(dir, ch);
        s.send(first);
        return s;
    }

    void send(ControlRequest r) throws IOException {
        synchronized (up) {
            r.writeDelimitedTo(up);
            up.flush();
        }
    }

    void send(ClientInput in) {
        try {
            send(ControlRequest.newBuilder().setInput(in).build());
        } catch (IOException e) {
            // the daemon went away; the reader reports it
        }
    }

    /** The next reply; a daemon error becomes a {@link CliException} with the daemon's exit status. */
    ControlReply next() throws IOException {
        ControlReply r = ControlReply.parseDelimitedFrom(down);
        if (r == null) throw new CliException("the herd daemon closed the connection; see " + dir.log());
        if (r.hasError()) throw new CliException(r.getError().getMessage(), r.getError().getExitCode() == 0 ? 1 : r.getError().getExitCode());
        return r;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
