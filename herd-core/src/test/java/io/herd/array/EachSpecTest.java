package io.herd.array;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EachSpecTest {

    @TempDir Path dir;

    @Property
    void aRangeIsEveryIntegerFromLowToHighInOrder(@ForAll @LongRange(min = -1000, max = 1000) long from,
                                                  @ForAll @IntRange(min = 0, max = 500) int extra) {
        long to = from + extra;
        List<String> items = EachSpec.parse(from + ".." + to, dir);
        assertThat(items).isEqualTo(LongStream.rangeClosed(from, to).mapToObj(Long::toString).collect(Collectors.toList()));
    }

    @Property
    void aDescendingRangeIsRefused(@ForAll @LongRange(min = -1000, max = 1000) long to, @ForAll @IntRange(min = 1, max = 500) int gap) {
        long from = to + gap;
        assertThatThrownBy(() -> EachSpec.parse(from + ".." + to, dir)).isInstanceOf(EachSpec.BadSpec.class)
                .hasMessageContaining("goes down").hasMessageContaining(to + ".." + from).hasMessageContaining("@FILE");
    }

    @Test
    void rangesFromTheBrief() {
        assertThat(EachSpec.parse("1..4000", dir)).hasSize(4000).startsWith("1", "2").endsWith("4000");
        assertThat(EachSpec.parse("0..9", dir)).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        assertThat(EachSpec.parse("3..3", dir)).containsExactly("3");
    }

    @Test
    void leadingZerosPadEveryItem() {
        assertThat(EachSpec.parse("08..11", dir)).containsExactly("08", "09", "10", "11");
        assertThat(EachSpec.parse("001..3", dir)).containsExactly("001", "002", "003");
    }

    @Test
    void listsKeepTheirOrderAndASingleWordIsAListOfOne() {
        assertThat(EachSpec.parse("b,a,c", dir)).containsExactly("b", "a", "c");
        assertThat(EachSpec.parse("x.png", dir)).containsExactly("x.png");
    }

    @Test
    void aFileGivesOneItemPerLineSkippingBlankLines() throws Exception {
        Files.writeString(dir.resolve("items.txt"), "alpha\n\n  \nbeta gamma\r\ndelta");
        assertThat(EachSpec.parse("@items.txt", dir)).containsExactly("alpha", "beta gamma", "delta");
    }

    @Test
    void badSpecsSayWhatIsWrongAndWhatIsAccepted() throws Exception {
        Files.writeString(dir.resolve("empty.txt"), "\n\n");
        for (String[] c : new String[][] {
                {"5..1", "goes down"}, {"1..x", "two integers"}, {"..3", "two integers"}, {"1...3", "two integers"},
                {"@empty.txt", "has no items"}, {"@missing.txt", "no such file"}, {"@", "no file name"},
                {"a,,b", "empty item"}, {"a,", "empty item"}, {"", "empty"}, {"1..200000", "more than 100000"}}) {
            assertThatThrownBy(() -> EachSpec.parse(c[0], dir)).as(c[0]).isInstanceOf(EachSpec.BadSpec.class)
                    .hasMessageStartingWith("bad --each '" + c[0] + "': ").hasMessageContaining(c[1])
                    .hasMessageContaining("A..B").hasMessageContaining("@FILE").hasMessageContaining("a,b,c")
                    .hasMessageNotContaining("\n");
        }
    }
}
