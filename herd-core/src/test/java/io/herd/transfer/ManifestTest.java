package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.transfer.Manifest.FileEntry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestTest {
    @TempDir
    Path tmp;

    private Path base() throws Exception {
        Path base = Files.createDirectories(tmp.resolve("job"));
        Files.writeString(base.resolve("scene.pov"), "sphere {}\n");
        Files.createDirectories(base.resolve("inc/sub"));
        Files.writeString(base.resolve("inc/colors.inc"), "red\n");
        Files.writeString(base.resolve("inc/sub/deep.inc"), "deep\n");
        Path run = base.resolve("run.sh");
        Files.writeString(run, "#!/bin/sh\n");
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-x---"));
        return base;
    }

    @Test
    void scansFilesAndDirectoriesWithHashesSizesAndModes() throws Exception {
        Path base = base();
        Manifest m = Manifest.scan(base, List.of(Path.of("scene.pov"), base.resolve("run.sh"), Path.of("inc")));

        assertThat(m.files()).extracting(FileEntry::path)
                .containsExactly("inc/colors.inc", "inc/sub/deep.inc", "run.sh", "scene.pov");
        FileEntry scene = m.entry("scene.pov").orElseThrow();
        assertThat(scene.size()).isEqualTo(10);
        assertThat(scene.sha256()).isEqualTo(ContentStoreTest.sha("sphere {}\n".getBytes(StandardCharsets.UTF_8)));
        assertThat(m.entry("run.sh").orElseThrow().mode()).isEqualTo(0750);
        assertThat(m.totalBytes()).isEqualTo(10 + 4 + 5 + 10);
        assertThat(m.hashes()).hasSize(4);
    }

    @Test
    void aFileNamedTwiceAppearsOnce() throws Exception {
        Path base = base();
        Manifest m = Manifest.scan(base, List.of(Path.of("scene.pov"), Path.of("./scene.pov"), base.resolve("scene.pov")));
        assertThat(m.files()).hasSize(1);
    }

    @Test
    void rejectsDotDotComponentsNamingTheFile() throws Exception {
        Path base = base();
        Files.writeString(tmp.resolve("secret"), "x");
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("../secret"))))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("../secret")
                .hasMessageContaining("'..' is not allowed");
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("inc/../scene.pov"))))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("inc/../scene.pov");
    }

    @Test
    void rejectsAbsolutePathsOutsideTheBase() throws Exception {
        Path base = base();
        Path outside = Files.writeString(tmp.resolve("other"), "x");
        assertThatThrownBy(() -> Manifest.scan(base, List.of(outside)))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining(outside.toString())
                .hasMessageContaining("outside the job's directory");
    }

    @Test
    void rejectsSymlinksPointingOutside() throws Exception {
        Path base = base();
        Path secret = Files.writeString(tmp.resolve("secret"), "x");
        Files.createSymbolicLink(base.resolve("link"), secret);
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("link"))))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("input link is a symbolic link to " + secret.toRealPath())
                .hasMessageContaining("outside the job's directory");
    }

    @Test
    void rejectsALinkOutsideFoundInsideANamedDirectory() throws Exception {
        Path base = base();
        Path secret = Files.writeString(tmp.resolve("secret"), "x");
        Files.createSymbolicLink(base.resolve("inc/sub/escape"), secret);
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("inc"))))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("inc/sub/escape");
    }

    @Test
    void rejectsADirectorySymlinkOnTheWayOut() throws Exception {
        Path base = base();
        Path outsideDir = Files.createDirectories(tmp.resolve("elsewhere"));
        Files.writeString(outsideDir.resolve("f"), "x");
        Files.createSymbolicLink(base.resolve("d"), outsideDir);
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("d/f"))))
                .isInstanceOf(UnsafePathException.class)
                .hasMessageContaining("d/f")
                .hasMessageContaining("outside");
    }

    @Test
    void aLinkInsideIsStagedAsItsTargetUnderItsOwnName() throws Exception {
        Path base = base();
        Files.createSymbolicLink(base.resolve("alias.pov"), Path.of("scene.pov"));
        Manifest m = Manifest.scan(base, List.of(Path.of("alias.pov")));
        assertThat(m.files()).singleElement().satisfies(e -> {
            assertThat(e.path()).isEqualTo("alias.pov");
            assertThat(e.size()).isEqualTo(10);
        });
    }

    @Test
    void aMissingInputIsNamed() throws Exception {
        Path base = base();
        assertThatThrownBy(() -> Manifest.scan(base, List.of(Path.of("nope.txt"))))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining("input nope.txt does not exist");
    }

    @Test
    void entriesRefuseUnsafePathsAndBadFields() {
        String sha = "a".repeat(64);
        for (String bad : List.of("", "/etc/passwd", "a/../b", "..", "./a", "a//b", "a/", "a\0b")) {
            assertThatThrownBy(() -> new FileEntry(bad, sha, 0, 0644)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new FileEntry("a", "A".repeat(64), 0, 0644)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FileEntry("a", sha, -1, 0644)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new FileEntry("a", sha, 0, 04755)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new FileEntry("a b/..c/d..", sha, 0, 0644).path()).isEqualTo("a b/..c/d..");
    }

    @Test
    void manifestsRefuseDuplicatesAndFileDirectoryClashes() {
        String sha = "b".repeat(64);
        assertThatThrownBy(() -> new Manifest(List.of(new FileEntry("a", sha, 1, 0644), new FileEntry("a", sha, 1, 0644))))
                .hasMessageContaining("appears twice");
        assertThatThrownBy(() -> new Manifest(List.of(new FileEntry("a", sha, 1, 0644), new FileEntry("a/b", sha, 1, 0644))))
                .hasMessageContaining("also a directory");
        assertThat(new Manifest(List.of(new FileEntry("a.b", sha, 1, 0644), new FileEntry("a", sha, 1, 0644),
                new FileEntry("a-b/c", sha, 1, 0644))).files()).extracting(FileEntry::path).containsExactly("a", "a-b/c", "a.b");
    }
}
