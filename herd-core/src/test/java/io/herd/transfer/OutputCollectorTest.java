package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.transfer.Manifest.FileEntry;
import io.herd.transfer.OutputCollector.Changes;
import io.herd.transfer.OutputCollector.Rejected;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputCollectorTest {
    @TempDir
    Path tmp;

    /** A job's life on the host: inputs staged and materialised, the job's effects, then collection. */
    @Test
    void collectsNewAndChangedFilesNotUnchangedOnesAndRejectsLinks() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Path home = Files.createDirectories(tmp.resolve("home"));
        Files.writeString(home.resolve("keep.txt"), "unchanged\n");
        Files.writeString(home.resolve("edit.txt"), "before\n");
        Files.createDirectories(home.resolve("cfg"));
        Files.writeString(home.resolve("cfg/params"), "n=1\n");
        Manifest inputs = Manifest.scan(home, List.of(Path.of("keep.txt"), Path.of("edit.txt"), Path.of("cfg")));
        for (FileEntry e : inputs.files()) {
            store.put(home.resolve(e.path()));
        }
        Path sandbox = tmp.resolve("sandbox");
        SandboxFiles.materialise(store, inputs, sandbox);

        // The job: rewrites one input (by replacing it), creates files, a link out, a link in.
        Path edit = sandbox.resolve("edit.txt");
        Files.delete(edit);
        Files.writeString(edit, "after\n");
        Files.createDirectories(sandbox.resolve("out/tiles"));
        Files.writeString(sandbox.resolve("out/tiles/t1.png"), "png1");
        Files.writeString(sandbox.resolve("result.txt"), "42\n");
        Files.createSymbolicLink(sandbox.resolve("steal"), Path.of("/etc/passwd"));
        Files.createSymbolicLink(sandbox.resolve("out/alias"), Path.of("../result.txt"));
        Files.createSymbolicLink(sandbox.resolve("up"), tmp);

        Changes c = OutputCollector.changed(sandbox, inputs, List.of("cfg/*"));

        assertThat(c.files()).extracting(FileEntry::path)
                .containsExactly("cfg/params", "edit.txt", "out/tiles/t1.png", "result.txt");
        FileEntry result = c.files().get(3);
        assertThat(result.sha256()).isEqualTo(ContentStoreTest.sha("42\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(result.size()).isEqualTo(3);
        assertThat(c.rejected()).extracting(Rejected::path).containsExactly("out/alias", "steal", "up");
        assertThat(c.rejected()).allSatisfy(r -> assertThat(r.reason()).contains("symbolic link"));
        assertThat(c.manifest().totalBytes()).isEqualTo(4 + 6 + 4 + 3);
    }

    @Test
    void aChangedInputOfTheSameSizeIsFoundByItsHash() throws Exception {
        Path sandbox = Files.createDirectories(tmp.resolve("sandbox"));
        Files.writeString(sandbox.resolve("a"), "xyz");
        Manifest inputs = new Manifest(List.of(new FileEntry("a",
                ContentStoreTest.sha("abc".getBytes(StandardCharsets.UTF_8)), 3, 0644)));
        assertThat(OutputCollector.changed(sandbox, inputs, List.of()).files()).extracting(FileEntry::path).containsExactly("a");
        Files.writeString(sandbox.resolve("a"), "abc");
        assertThat(OutputCollector.changed(sandbox, inputs, List.of()).files()).isEmpty();
    }

    @Test
    void outputPatternsThatLeaveTheSandboxAreRefused() throws Exception {
        Path sandbox = Files.createDirectories(tmp.resolve("sandbox"));
        assertThatThrownBy(() -> OutputCollector.changed(sandbox, Manifest.EMPTY, List.of("../*")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("../*");
        assertThatThrownBy(() -> OutputCollector.changed(sandbox, Manifest.EMPTY, List.of("/etc/*")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("absolute");
    }

    // ---- home side ----

    /** Blobs "fetched" to home: a map from hash to a file. */
    private final class Blobs implements Function<String, Path> {
        final Path dir;

        Blobs() throws Exception {
            dir = Files.createDirectories(tmp.resolve("blobs"));
        }

        FileEntry add(String path, byte[] content, int mode) throws Exception {
            String sha = ContentStoreTest.sha(content);
            Files.write(dir.resolve(sha), content);
            return new FileEntry(path, sha, content.length, mode);
        }

        FileEntry add(String path, String content) throws Exception {
            return add(path, content.getBytes(StandardCharsets.UTF_8), 0644);
        }

        @Override
        public Path apply(String sha) {
            return dir.resolve(sha);
        }
    }

    private static List<String> leftovers(Path dir) throws Exception {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(FileOps.TEMP_PREFIX)).toList();
        }
    }

    @Test
    void commitWritesAtomicallyAReaderNeverSeesAPartialFile() throws Exception {
        Blobs blobs = new Blobs();
        byte[] first = new byte[32 << 20];
        byte[] second = new byte[24 << 20];
        new Random(1).nextBytes(first);
        new Random(2).nextBytes(second);
        FileEntry e1 = blobs.add("renders/big.bin", first, 0640);
        FileEntry e2 = blobs.add("renders/big.bin", second, 0644);
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Path target = dest.resolve("renders/big.bin");

        // A reader polling the destination may see no file, the whole first or the whole second.
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> seen = new AtomicReference<>();
        AtomicInteger looks = new AtomicInteger();
        Thread reader = new Thread(() -> {
            while (!stop.get()) {
                try {
                    long size = Files.size(target);
                    if (size != first.length && size != second.length) {
                        seen.set("a partial file of " + size + " bytes");
                    }
                } catch (IOException notThereYet) {
                    // no file: fine
                }
                looks.incrementAndGet();
            }
        });
        reader.start();
        List<Path> written;
        try {
            written = OutputCollector.commitInto(dest, List.of(e1), blobs, CollisionPolicy.FAIL);
            assertThat(Arrays.equals(Files.readAllBytes(target), first)).isTrue();
            OutputCollector.commitInto(dest, List.of(e2), blobs, CollisionPolicy.OVERWRITE);
        } finally {
            stop.set(true);
            reader.join();
        }

        assertThat(seen.get()).isNull();
        assertThat(looks.get()).isPositive();
        assertThat(written).containsExactly(target);
        assertThat(Arrays.equals(Files.readAllBytes(target), second)).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(target))).isEqualTo("rw-r--r--");
        assertThat(leftovers(dest)).isEmpty();
    }

    @Test
    void aCorruptBlobWritesNothing() throws Exception {
        Blobs blobs = new Blobs();
        FileEntry e = blobs.add("out.txt", "right");
        Files.writeString(blobs.apply(e.sha256()), "wrong");
        Path dest = Files.createDirectories(tmp.resolve("dest"));

        assertThatThrownBy(() -> OutputCollector.commitInto(dest, List.of(e), blobs, CollisionPolicy.OVERWRITE))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("out.txt");
        assertThat(dest).isEmptyDirectory();
    }

    @Test
    void failPolicyRefusesTheSecondJobOfAnArrayAndWritesNoneOfItsOutputs() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        FileEntry job1 = blobs.add("out.txt", "from job 1\n");
        OutputCollector.commitInto(dest, List.of(job1), blobs, CollisionPolicy.RECOMMENDED);

        FileEntry job2 = blobs.add("out.txt", "from job 2\n");
        FileEntry job2log = blobs.add("job2.log", "log\n");
        assertThatThrownBy(() -> OutputCollector.commitInto(dest, List.of(job2log, job2), blobs, CollisionPolicy.FAIL))
                .isInstanceOf(OutputCollisionException.class)
                .hasMessageStartingWith("output out.txt already exists and differs;")
                .satisfies(t -> assertThat(((OutputCollisionException) t).paths()).containsExactly("out.txt"));
        assertThat(dest.resolve("out.txt")).hasContent("from job 1");
        assertThat(dest.resolve("job2.log")).doesNotExist();
        assertThat(leftovers(dest)).isEmpty();
    }

    @Test
    void identicalContentIsNeverACollisionSoCommittingTwiceIsANoOp() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        FileEntry e = blobs.add("sub/out.txt", "same\n");
        OutputCollector.commitInto(dest, List.of(e), blobs, CollisionPolicy.FAIL);
        OutputCollector.commitInto(dest, List.of(e), blobs, CollisionPolicy.FAIL);
        OutputCollector.commitInto(dest, List.of(e), blobs, CollisionPolicy.RENAME);
        try (Stream<Path> s = Files.list(dest.resolve("sub"))) {
            assertThat(s).containsExactly(dest.resolve("sub/out.txt"));
        }
    }

    @Test
    void renamePolicyKeepsBoth() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Files.writeString(dest.resolve("out.txt"), "theirs\n");
        Files.writeString(dest.resolve("out.txt.1"), "older\n");

        List<Path> written = OutputCollector.commitInto(dest,
                List.of(blobs.add("out.txt", "mine\n")), blobs, CollisionPolicy.RENAME);

        assertThat(written).containsExactly(dest.resolve("out.txt.2"));
        assertThat(dest.resolve("out.txt")).hasContent("theirs");
        assertThat(dest.resolve("out.txt.1")).hasContent("older");
        assertThat(dest.resolve("out.txt.2")).hasContent("mine");
    }

    @Test
    void overwritePolicyReplaces() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Files.writeString(dest.resolve("out.txt"), "theirs\n");
        OutputCollector.commitInto(dest, List.of(blobs.add("out.txt", "mine\n")), blobs, CollisionPolicy.OVERWRITE);
        assertThat(dest.resolve("out.txt")).hasContent("mine");
        assertThat(leftovers(dest)).isEmpty();
    }

    @Test
    void aJobMayReplaceItsOwnInputButNotOneChangedSinceItWasStaged() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Files.writeString(dest.resolve("data.txt"), "v0\n");
        Manifest staged = Manifest.scan(dest, List.of(Path.of("data.txt")));

        // Two jobs of an array were given v0 and both rewrote it: the first wins, the second is a lost update.
        OutputCollector.commitInto(dest, List.of(blobs.add("data.txt", "v1 from job 1\n")), staged, blobs, CollisionPolicy.FAIL);
        assertThat(dest.resolve("data.txt")).hasContent("v1 from job 1");
        assertThatThrownBy(() -> OutputCollector.commitInto(dest, List.of(blobs.add("data.txt", "v1 from job 2\n")),
                staged, blobs, CollisionPolicy.FAIL))
                .isInstanceOf(OutputCollisionException.class)
                .hasMessageContaining("output data.txt already exists and differs");
    }

    @Test
    void refusesToWriteThroughALinkAtHome() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Path victim = Files.createDirectories(tmp.resolve("victim"));
        Files.createSymbolicLink(dest.resolve("out"), victim);

        assertThatThrownBy(() -> OutputCollector.commitInto(dest, List.of(blobs.add("out/x", "x")), blobs, CollisionPolicy.OVERWRITE))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("out/x")
                .hasMessageContaining("symbolic link");
        assertThat(victim).isEmptyDirectory();
    }

    @Test
    void aDirectoryInTheWayIsAnErrorUnderEveryPolicy() throws Exception {
        Blobs blobs = new Blobs();
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Files.createDirectories(dest.resolve("out.txt"));
        for (CollisionPolicy p : CollisionPolicy.values()) {
            assertThatThrownBy(() -> OutputCollector.commitInto(dest, List.of(blobs.add("out.txt", "x")), blobs, p))
                    .as(p.name()).isInstanceOf(UnsafePathException.class).hasMessageContaining("directory");
        }
    }

    @Test
    void endToEndTheCollectedOutputsLandAtHome() throws Exception {
        ContentStore host = new ContentStore(tmp.resolve("host-cas"), 1 << 20);
        Path sandbox = Files.createDirectories(tmp.resolve("sandbox/out"));
        try (OutputStream o = Files.newOutputStream(sandbox.resolve("r.txt"))) {
            o.write("result\n".getBytes(StandardCharsets.UTF_8));
        }
        Changes c = OutputCollector.changed(tmp.resolve("sandbox"), Manifest.EMPTY, List.of());
        for (FileEntry e : c.files()) {
            host.put(tmp.resolve("sandbox").resolve(e.path()));
        }
        Path dest = Files.createDirectories(tmp.resolve("home"));
        OutputCollector.commitInto(dest, c.files(), host::path, CollisionPolicy.RECOMMENDED);
        assertThat(dest.resolve("out/r.txt")).hasContent("result");
    }

    @Test
    void aTempLeftByACrashedCommitIsReplacedByTheNextCommitOfThatOutput() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        String sha = store.put(new java.io.ByteArrayInputStream("whole\n".getBytes()));
        FileEntry e = new FileEntry("out.txt", sha, 6, 0644);
        // What a home killed in the middle of writing out.txt leaves behind.
        Files.writeString(dest.resolve(".herd-out.txt.part"), "hal");
        OutputCollector.commitInto(dest, List.of(e), store::path, CollisionPolicy.FAIL);
        assertThat(Files.readString(dest.resolve("out.txt"))).isEqualTo("whole\n");
        try (var files = Files.list(dest)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("out.txt");
        }
    }

    @Test
    void aLinkPlantedAtTheTempNameIsRemovedNotFollowed() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Path dest = Files.createDirectories(tmp.resolve("dest"));
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "keep me\n");
        Files.createSymbolicLink(dest.resolve(".herd-out.txt.part"), victim);
        String sha = store.put(new java.io.ByteArrayInputStream("whole\n".getBytes()));
        OutputCollector.commitInto(dest, List.of(new FileEntry("out.txt", sha, 6, 0644)), store::path, CollisionPolicy.FAIL);
        assertThat(Files.readString(victim)).isEqualTo("keep me\n");
        assertThat(Files.readString(dest.resolve("out.txt"))).isEqualTo("whole\n");
        assertThat(dest.resolve(".herd-out.txt.part")).doesNotExist();
    }
}
