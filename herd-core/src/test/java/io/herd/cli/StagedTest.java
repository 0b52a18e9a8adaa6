package io.herd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StagedTest {

    @TempDir Path cwd;

    @Test
    void argumentsNamingFilesOrDirectoriesUnderTheDirectoryAreStaged() throws Exception {
        Files.writeString(cwd.resolve("scene.pov"), "x");
        Files.createDirectories(cwd.resolve("textures"));
        Files.writeString(cwd.resolve("conf.ini"), "y");
        List<String> in = Staged.inputs(cwd, List.of("povray", "scene.pov", "-v", "+Otile.png", "--config=conf.ini",
                "textures/", ".", "..", "/etc/passwd", "missing.txt", cwd.resolve("scene.pov").toString()), List.of());
        assertThat(in).containsExactly("scene.pov", "conf.ini", "textures");
    }

    @Test
    void inputGlobsMatchBelowTheirLiteralPrefix() throws Exception {
        Files.createDirectories(cwd.resolve("data/2024"));
        Files.writeString(cwd.resolve("data/a.csv"), "1");
        Files.writeString(cwd.resolve("data/2024/b.csv"), "2");
        Files.writeString(cwd.resolve("top.csv"), "3");
        assertThat(Staged.inputs(cwd, List.of("true"), List.of("data/*.csv"))).containsExactly("data/a.csv");
        assertThat(Staged.inputs(cwd, List.of("true"), List.of("data/**.csv"))).containsExactly("data/2024/b.csv", "data/a.csv");
        assertThat(Staged.inputs(cwd, List.of("true"), List.of("*.csv"))).containsExactly("top.csv");
    }

    @Test
    void badGlobsAreRefusedWithWhatToDo() {
        assertThatThrownBy(() -> Staged.inputs(cwd, List.of("true"), List.of("*.none")))
                .isInstanceOf(CliException.class).hasMessageContaining("no file matches");
        assertThatThrownBy(() -> Staged.inputs(cwd, List.of("true"), List.of("/etc/*")))
                .isInstanceOf(CliException.class).hasMessageContaining("relative to this directory");
        assertThatThrownBy(() -> Staged.checkGlob("a/../../b", "-o"))
                .isInstanceOf(CliException.class).hasMessageContaining("-o 'a/../../b'");
    }

    @Test
    void arrayPlaceholdersAreLeftForTheDaemonToResolvePerItem() throws Exception {
        assertThat(Staged.inputs(cwd, List.of("convert", "img{}.png", "--in=part{#}.dat", "/abs/{}", "../{}"), List.of("frames/f{}.pov")))
                .containsExactly("?img{}.png", "?part{#}.dat", "frames/f{}.pov");
        assertThatThrownBy(() -> Staged.inputs(cwd, List.of("true"), List.of("frames/*{}.pov")))
                .isInstanceOf(CliException.class).hasMessageContaining("cannot also hold wildcards");
    }
}
