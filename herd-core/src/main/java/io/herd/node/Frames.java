package io.herd.node;

import com.google.protobuf.ByteString;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.JobOutput;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Reply frames on one control connection, written whole by one thread at a time. */
final class Frames {

    /** Log files go down in pieces of this size, so memory stays flat however big a log is. */
    static final int CHUNK = 64 * 1024;

    private final OutputStream out;

    Frames(OutputStream out) {
        this.out = out;
    }

    void send(ControlReply r) throws IOException {
        synchronized (out) {
            r.writeDelimitedTo(out);
            out.flush();
        }
    }

    /**
     * Sends {@code file} from byte {@code from} to its current end as output frames and returns the
     * position reached. A file shorter than {@code from} was rewritten by a new attempt of the job:
     * it is sent again from the start. A missing file (the job never ran) sends nothing.
     */
    long sendFile(Path file, long from, boolean stderr) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = size < from ? 0 : from;
            if (pos >= size) return pos;   // nothing new (most jobs of an array print nothing): no buffer
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK, size - pos));
            while (pos < size) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n <= 0) break;
                buf.flip();
                ByteString data = ByteString.copyFrom(buf);
                JobOutput.Builder o = JobOutput.newBuilder();
                if (stderr) o.setStderr(data); else o.setStdout(data);
                send(ControlReply.newBuilder().setOutput(o).build());
                pos += n;
            }
            return pos;
        } catch (NoSuchFileException e) {
            return from;
        }
    }
}
