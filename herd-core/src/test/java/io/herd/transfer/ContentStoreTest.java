package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ContentStoreTest {
    @TempDir
    Path dir;

    static String sha(byte[] data) {
        return HexFormat.of().formatHex(FileOps.sha256().digest(data));
    }

    static InputStream in(byte[] data) {
        return new ByteArrayInputStream(data);
    }

    static byte[] bytes(int size, int seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void putStoresUnderItsHashReadOnlyAndHasFindsIt() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1 << 20);
        byte[] data = "hello herd\n".getBytes(StandardCharsets.UTF_8);
        String sha = store.put(in(data));

        assertThat(sha).isEqualTo(sha(data));
        assertThat(store.has(sha)).isTrue();
        Path p = store.path(sha);
        assertThat(p).isEqualTo(dir.resolve("cas").resolve(sha.substring(0, 2)).resolve(sha));
        assertThat(Files.readAllBytes(p)).isEqualTo(data);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p))).isEqualTo("r--r--r--");
        assertThat(store.usedBytes()).isEqualTo(data.length);
        assertThat(store.has(sha(new byte[] {1}))).isFalse();
        try (InputStream opened = store.open(sha)) {
            assertThat(opened.readAllBytes()).isEqualTo(data);
        }
        assertThat(dir.resolve("cas/tmp")).isEmptyDirectory();
    }

    @Test
    void putOfAFileAndTwiceTheSameContentKeepsOneBlob() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1 << 20);
        Path f = dir.resolve("f");
        Files.write(f, bytes(1000, 1));
        String a = store.put(f);
        String b = store.put(in(bytes(1000, 1)));
        assertThat(a).isEqualTo(b);
        assertThat(store.count()).isEqualTo(1);
        assertThat(store.usedBytes()).isEqualTo(1000);
    }

    @Test
    void putExpectingRejectsAMismatchAndLeavesNoTempFile() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1 << 20);
        byte[] data = bytes(300_000, 2);
        String wrong = sha(new byte[] {42});

        assertThatThrownBy(() -> store.putExpecting(wrong, in(data)))
                .isInstanceOf(ContentMismatchException.class)
                .hasMessageContaining("does not match its expected SHA-256")
                .hasMessageContaining(wrong)
                .hasMessageContaining(sha(data));
        assertThat(store.count()).isZero();
        assertThat(dir.resolve("cas/tmp")).isEmptyDirectory();
        assertThat(store.putExpecting(sha(data), in(data))).isEqualTo(sha(data));
    }

    @Test
    void evictsLeastRecentlyUsedDownToTheLimit() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 3000);
        String a = store.put(in(bytes(1000, 1)));
        String b = store.put(in(bytes(1000, 2)));
        String c = store.put(in(bytes(1000, 3)));
        assertThat(store.has(a)).isTrue(); // a is now more recently used than b

        String d = store.put(in(bytes(1000, 4)));

        assertThat(store.has(b)).isFalse();
        assertThat(Files.exists(store.path(b))).isFalse();
        assertThat(List.of(a, c, d)).allMatch(store::has);
        assertThat(store.usedBytes()).isEqualTo(3000);
    }

    @Test
    void pinnedBlobsAreNeverEvictedAndPinsAreCounted() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 2000);
        String a = store.put(in(bytes(1000, 1)));
        store.pin(a);
        store.pin(a);
        String b = store.put(in(bytes(1000, 2)));
        String c = store.put(in(bytes(1000, 3))); // over: b is the only candidate

        assertThat(store.has(a)).isTrue();
        assertThat(store.has(b)).isFalse();
        store.unpin(a);
        String d = store.put(in(bytes(1000, 4)));
        assertThat(store.has(a)).as("still pinned once").isTrue();
        assertThat(store.has(c)).isFalse();

        store.unpin(a);
        assertThat(store.has(d)).isTrue(); // d is now more recently used than a
        store.put(in(bytes(1000, 5)));
        assertThat(store.has(a)).isFalse();
        assertThat(store.has(d)).isTrue();
        assertThatThrownBy(() -> store.unpin(a)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aPinTakenBeforeTheBlobArrivesProtectsIt() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1000);
        byte[] data = bytes(1000, 9);
        store.pin(sha(data));
        store.put(in(data));
        store.put(in(bytes(1000, 10)));
        assertThat(store.has(sha(data))).isTrue();
    }

    @Test
    void onlyPinnedBlobsLeftMeansOverTheLimitNotLost() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1500);
        byte[] one = bytes(1000, 1);
        store.pin(sha(one));
        store.put(in(one));
        String two = store.put(in(bytes(1000, 2)));
        assertThat(store.has(two)).as("the blob just stored is not evicted to make room for itself").isTrue();
        assertThat(store.usedBytes()).isEqualTo(2000);
    }

    @Test
    void survivesARestartRebuildingTheIndexAndDroppingTempFiles() throws Exception {
        Path cas = dir.resolve("cas");
        ContentStore first = new ContentStore(cas, 10_000);
        String a = first.put(in(bytes(1000, 1)));
        String b = first.put(in(bytes(2000, 2)));
        // a was used longer ago than b (set explicitly rather than waiting for the clock to tick).
        Files.setLastModifiedTime(first.path(a), java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 60_000));
        Files.write(cas.resolve("tmp/put-123.tmp"), bytes(500, 3)); // a crash mid-write

        ContentStore second = new ContentStore(cas, 10_000);
        assertThat(second.has(a)).isTrue();
        assertThat(second.has(b)).isTrue();
        assertThat(second.count()).isEqualTo(2);
        assertThat(second.usedBytes()).isEqualTo(3000);
        assertThat(cas.resolve("tmp")).isEmptyDirectory();

        ContentStore smaller = new ContentStore(cas, 2500); // restart with a lower limit: oldest stored goes
        assertThat(smaller.has(a)).isFalse();
        assertThat(smaller.has(b)).isTrue();
    }

    @Test
    void refusesABlobLargerThanTheWholeStore() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1000);
        assertThatThrownBy(() -> store.put(in(bytes(1001, 1))))
                .isInstanceOf(StoreFullException.class)
                .hasMessageContaining("larger than the whole content store");
        assertThat(dir.resolve("cas/tmp")).isEmptyDirectory();
    }

    @Test
    void verifyFindsAndDeletesACorruptBlob() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1 << 20);
        String sha = store.put(in(bytes(5000, 1)));
        assertThat(store.verify(sha)).isTrue();
        Path p = store.path(sha);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-r--r--"));
        Files.write(p, bytes(5000, 2));

        assertThat(store.verify(sha)).isFalse();
        assertThat(store.has(sha)).isFalse();
        assertThat(Files.exists(p)).isFalse();
        assertThatThrownBy(() -> store.open(sha)).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void rejectsNamesThatAreNotHashes() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 1000);
        assertThatThrownBy(() -> store.has("../../etc/passwd")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.path("ABCDEF" + "0".repeat(58))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void concurrentPutsAndEvictionsKeepTheAccountsRight() throws Exception {
        ContentStore store = new ContentStore(dir.resolve("cas"), 50_000);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<String>> puts = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                int seed = i % 40;
                puts.add(pool.submit(() -> store.put(in(bytes(1000, seed)))));
            }
            for (Future<String> f : puts) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        long onDisk = 0;
        int files = 0;
        try (var walk = Files.walk(dir.resolve("cas"))) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                onDisk += Files.size(p);
                files++;
            }
        }
        assertThat(store.usedBytes()).isEqualTo(onDisk).isLessThanOrEqualTo(50_000);
        assertThat(store.count()).isEqualTo(files);
    }
}
