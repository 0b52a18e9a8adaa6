package io.herd.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LabelsTest {

    @TempDir Path dir;

    @Test
    void validNames() {
        for (String ok : new String[] {"fast", "gpu.a100", "x86_64", "rack-2", "0", "a".repeat(32), "9lives"}) {
            assertThat(Labels.valid(ok)).as(ok).isTrue();
        }
        for (String bad : new String[] {"", "Fast", "-x", ".x", "_x", "a".repeat(33), "a b", "a=b", "é", "a\n", "label==x"}) {
            assertThat(Labels.valid(bad)).as(bad).isFalse();
            assertThatThrownBy(() -> Labels.check(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("a label is 1 to 32 of a-z 0-9 _ . - starting with a letter or digit");
        }
        assertThat(Labels.valid(null)).isFalse();
        // A control character is never echoed to the terminal.
        assertThatThrownBy(() -> Labels.check("a\u001b[2J")).hasMessageStartingWith("invalid label 'a?[2J'");
    }

    @Test
    void addAndRemoveKeepThemSortedAndUnique() {
        Labels l = Labels.NONE.plus(List.of("slow", "fast", "fast"));
        assertThat(l.names()).containsExactly("fast", "slow");
        assertThat(l.plus(List.of("gpu")).names()).containsExactly("fast", "gpu", "slow");
        assertThat(l.minus(List.of("slow", "never-had")).names()).containsExactly("fast");
        assertThat(l.contains("fast")).isTrue();
        assertThat(l).hasToString("fast,slow");
    }

    @Test
    void oneBadNameChangesNothing() {
        Labels l = Labels.NONE.plus(List.of("fast"));
        assertThatThrownBy(() -> l.plus(List.of("gpu", "BAD"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid label 'BAD'");
        assertThatThrownBy(() -> l.minus(List.of("fast", "BAD"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(l.names()).containsExactly("fast");
    }

    @Test
    void atMostEight() {
        List<String> eight = new ArrayList<>();
        for (int i = 0; i < Labels.MAX_LABELS; i++) eight.add("l" + i);
        Labels full = Labels.NONE.plus(eight);
        assertThat(full.names()).hasSize(8);
        assertThat(full.plus(List.of("l0")).names()).hasSize(8);   // already there: not a ninth
        assertThatThrownBy(() -> full.plus(List.of("l8"))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a node carries at most 8 labels, not 9; remove some with `herd label rm NAME`");
    }

    @Test
    void savedLabelsLoadBack() throws IOException {
        Path f = dir.resolve(Labels.FILE);
        assertThat(Labels.load(f)).isEqualTo(Labels.NONE);
        Labels l = Labels.NONE.plus(List.of("fast", "gpu.a100"));
        l.save(f);
        assertThat(Labels.load(f)).isEqualTo(l);
        Labels.NONE.save(f);
        assertThat(Labels.load(f).names()).isEmpty();
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(f);
        }
    }

    @Test
    void aHandEditedBadFileIsAnErrorNamingIt() throws IOException {
        Path f = dir.resolve(Labels.FILE);
        Files.writeString(f, "fast\nNot OK\n");
        assertThatThrownBy(() -> Labels.load(f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(f + ": invalid label 'Not OK'").hasMessageEndingWith("fix or delete the file");
    }
}
