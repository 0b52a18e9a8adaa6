package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.transfer.Manifest.FileEntry;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SandboxFilesTest {
    @TempDir
    Path tmp;

    private FileEntry stored(ContentStore store, String path, String content, int mode) throws Exception {
        byte[] b = content.getBytes(StandardCharsets.UTF_8);
        String sha = store.put(new ByteArrayInputStream(b));
        return new FileEntry(path, sha, b.length, mode);
    }

    private static String perms(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void laysOutNestedFilesWithModesLinkingReadOnlyInputsAndCopyingExecutables() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Manifest m = new Manifest(List.of(
                stored(store, "scene.pov", "sphere {}\n", 0644),
                stored(store, "inc/deep/colors.inc", "red\n", 0600),
                stored(store, "bin/run.sh", "#!/bin/sh\necho hi\n", 0750)));
        Path sandbox = tmp.resolve("sandbox");

        SandboxFiles.materialise(store, m, sandbox);

        Path scene = sandbox.resolve("scene.pov");
        assertThat(scene).hasContent("sphere {}");
        assertThat(Files.isSameFile(scene, store.path(m.entry("scene.pov").orElseThrow().sha256()))).as("hard link, no copy").isTrue();
        assertThat(perms(scene)).as("shared with the store, so read-only").isEqualTo("r--r--r--");
        assertThat(sandbox.resolve("inc/deep/colors.inc")).hasContent("red");
        Path run = sandbox.resolve("bin/run.sh");
        assertThat(perms(run)).isEqualTo("rwxr-x---");
        assertThat(Files.isSameFile(run, store.path(m.entry("bin/run.sh").orElseThrow().sha256()))).isFalse();
        // A guest writing an input in place is refused instead of corrupting the cached copy.
        if (!"root".equals(System.getProperty("user.name"))) {
            assertThatThrownBy(() -> Files.writeString(scene, "x", StandardOpenOption.APPEND))
                    .isInstanceOf(AccessDeniedException.class);
        }
    }

    @Test
    void copiedInputsHaveTheirExactModesAndAreWritable() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Manifest m = new Manifest(List.of(stored(store, "data/in.txt", "abc\n", 0640)));
        Path sandbox = tmp.resolve("sandbox");

        SandboxFiles.materialise(store, m, sandbox, SandboxFiles.Inputs.COPIED);

        Path in = sandbox.resolve("data/in.txt");
        assertThat(perms(in)).isEqualTo("rw-r-----");
        Files.writeString(in, "more\n", StandardOpenOption.APPEND);
        assertThat(store.verify(m.files().get(0).sha256())).as("the store's copy is untouched").isTrue();
    }

    @Test
    void runningAgainReplacesWhatIsThere() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Manifest m = new Manifest(List.of(stored(store, "a/b.txt", "one\n", 0644)));
        Path sandbox = tmp.resolve("sandbox");
        Files.createDirectories(sandbox.resolve("a"));
        Files.writeString(sandbox.resolve("a/b.txt"), "stale leftovers");

        SandboxFiles.materialise(store, m, sandbox);
        SandboxFiles.materialise(store, m, sandbox);

        assertThat(sandbox.resolve("a/b.txt")).hasContent("one");
    }

    @Test
    void refusesToWriteThroughASymlinkedDirectory() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Manifest m = new Manifest(List.of(stored(store, "etc/passwd", "evil\n", 0644)));
        Path sandbox = Files.createDirectories(tmp.resolve("sandbox"));
        Path victim = Files.createDirectories(tmp.resolve("victim"));
        Files.createSymbolicLink(sandbox.resolve("etc"), victim);

        assertThatThrownBy(() -> SandboxFiles.materialise(store, m, sandbox))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("etc/passwd")
                .hasMessageContaining("symbolic link");
        assertThat(victim).isEmptyDirectory();
    }

    @Test
    void aMissingBlobIsNamed() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        Manifest m = new Manifest(List.of(new FileEntry("gone.dat", "c".repeat(64), 3, 0644)));
        assertThatThrownBy(() -> SandboxFiles.materialise(store, m, tmp.resolve("sandbox")))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("input gone.dat")
                .hasMessageContaining("not in this host's content store");
    }

    @Test
    void aCorruptBlobIsCaughtWhileCopying() throws Exception {
        ContentStore store = new ContentStore(tmp.resolve("cas"), 1 << 20);
        FileEntry e = stored(store, "tool", "#!/bin/sh\n", 0755);
        Path blob = store.path(e.sha256());
        Files.setPosixFilePermissions(blob, PosixFilePermissions.fromString("rw-r--r--"));
        Files.writeString(blob, "#!/bin/XX\n");

        assertThatThrownBy(() -> SandboxFiles.materialise(store, new Manifest(List.of(e)), tmp.resolve("sandbox")))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("input tool");
        assertThat(tmp.resolve("sandbox/tool")).doesNotExist();
        assertThat(store.has(e.sha256())).isFalse();
    }
}
