package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotTest {

    @TempDir Path tmp;

    @Test
    void snapshotStoresTheBytesAndAnUnchangedFileIsNotReadAgain() throws Exception {
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        ContentStore store = new ContentStore(tmp.resolve("store"), 1 << 20);
        SnapshotCache cache = new SnapshotCache(10);
        Path scene = Files.writeString(cwd.resolve("scene.pov"), "sphere 1");
        FileTime t = Files.getLastModifiedTime(scene);

        Manifest first = Manifest.snapshot(cwd, List.of(Path.of("scene.pov")), store, cache);
        String sha = first.files().get(0).sha256();
        assertThat(store.has(sha)).isTrue();
        assertThat(new String(store.open(sha).readAllBytes())).isEqualTo("sphere 1");

        // Same size, same mtime, same inode: trusted without reading (the make/rsync test).
        Files.writeString(scene, "sphere 2");
        Files.setLastModifiedTime(scene, t);
        assertThat(Manifest.snapshot(cwd, List.of(Path.of("scene.pov")), store, cache).files().get(0).sha256()).isEqualTo(sha);

        // A changed mtime is read again.
        Files.setLastModifiedTime(scene, FileTime.fromMillis(t.toMillis() + 5000));
        Manifest changed = Manifest.snapshot(cwd, List.of(Path.of("scene.pov")), store, cache);
        assertThat(changed.files().get(0).sha256()).isNotEqualTo(sha);
        assertThat(new String(store.open(changed.files().get(0).sha256()).readAllBytes())).isEqualTo("sphere 2");
    }

    @Test
    void aBlobGoneFromTheStoreIsStoredAgainEvenWhenTheFileIsUnchanged() throws Exception {
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        ContentStore store = new ContentStore(tmp.resolve("store"), 1 << 20);
        SnapshotCache cache = new SnapshotCache(10);
        Files.writeString(cwd.resolve("a.txt"), "a");
        String sha = Manifest.snapshot(cwd, List.of(Path.of("a.txt")), store, cache).files().get(0).sha256();
        store.discard(sha);
        assertThat(store.has(sha)).isFalse();
        Manifest.snapshot(cwd, List.of(Path.of("a.txt")), store, cache);
        assertThat(store.has(sha)).isTrue();
    }
}
