package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.api.proto.ControlReply;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FramesTest {

    @TempDir
    Path dir;

    private static List<ControlReply> frames(ByteArrayOutputStream out) throws IOException {
        List<ControlReply> all = new ArrayList<>();
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());
        ControlReply r;
        while ((r = ControlReply.parseDelimitedFrom(in)) != null) all.add(r);
        return all;
    }

    @Test
    void aLogGoesInPiecesFromWhereTheReaderWasAndAnEmptyOrMissingOneSendsNothing() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames frames = new Frames(out);
        Path empty = Files.createFile(dir.resolve("empty"));
        assertThat(frames.sendFile(empty, 0, false)).isZero();
        assertThat(frames.sendFile(dir.resolve("missing"), 7, false)).isEqualTo(7);
        assertThat(frames(out)).isEmpty();

        byte[] data = new byte[Frames.CHUNK * 2 + 100];
        for (int i = 0; i < data.length; i++) data[i] = (byte) i;
        Path log = Files.write(dir.resolve("stderr"), data);
        assertThat(frames.sendFile(log, 0, true)).isEqualTo(data.length);
        List<ControlReply> sent = frames(out);
        assertThat(sent).extracting(r -> r.getOutput().getStderr().size()).containsExactly(Frames.CHUNK, Frames.CHUNK, 100);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (ControlReply r : sent) r.getOutput().getStderr().writeTo(joined);
        assertThat(joined.toByteArray()).isEqualTo(data);

        // Nothing new since: nothing sent. Rewritten shorter (a new attempt): sent again from the start.
        out.reset();
        assertThat(frames.sendFile(log, data.length, true)).isEqualTo(data.length);
        assertThat(frames(out)).isEmpty();
        Files.writeString(log, "again");
        assertThat(frames.sendFile(log, data.length, false)).isEqualTo(5);
        assertThat(frames(out)).extracting(r -> r.getOutput().getStdout().toStringUtf8()).containsExactly("again");
    }
}
