package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirTest {

    @TempDir
    Path root;

    private String saved;

    @BeforeEach
    void clearProperty() {
        saved = System.clearProperty(DataDir.SQLITE_TMPDIR);
    }

    @AfterEach
    void restoreProperty() {
        if (saved == null) System.clearProperty(DataDir.SQLITE_TMPDIR);
        else System.setProperty(DataDir.SQLITE_TMPDIR, saved);
    }

    @Test
    void sqliteUnpacksIntoTheDataDirectoryWhatEarlierDaemonsLeftThereIsRemoved() throws Exception {
        DataDir dir = new DataDir(root);
        Path nat = Files.createDirectories(dir.nativeLibs());
        Path stale = Files.writeString(nat.resolve("sqlite-3.54.1.0-0000-libsqlitejdbc.so"), "left by a killed daemon");
        Path staleLock = Files.writeString(nat.resolve("sqlite-3.54.1.0-0000-libsqlitejdbc.so.lck"), "");
        Path other = Files.writeString(nat.resolve("README"), "not the driver's");

        assertThat(dir.useForNativeLibraries()).isTrue();
        assertThat(System.getProperty(DataDir.SQLITE_TMPDIR)).isEqualTo(nat.toString());
        assertThat(stale).doesNotExist();
        assertThat(staleLock).doesNotExist();
        assertThat(other).exists();
    }

    @Test
    void aDirectoryAlreadyChosenIsKept() throws Exception {
        System.setProperty(DataDir.SQLITE_TMPDIR, "/somewhere/else");
        DataDir dir = new DataDir(root);
        assertThat(dir.useForNativeLibraries()).isFalse();
        assertThat(System.getProperty(DataDir.SQLITE_TMPDIR)).isEqualTo("/somewhere/else");
        assertThat(dir.nativeLibs()).doesNotExist();
    }
}
