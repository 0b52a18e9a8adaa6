package io.herd.array;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.journal.JobSpec;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class PlaceholdersTest {

    @Test
    void itemAndNumberGoIntoEveryWordAndEveryOccurrence() {
        assertThat(Placeholders.command(List.of("sh", "-c", "echo {} {#}; cp {} out/{#}-{}"), "a.txt", 7))
                .containsExactly("sh", "-c", "echo a.txt 7; cp a.txt out/7-a.txt");
        assertThat(Placeholders.command(List.of("{}", "{#}"), "prog", 1)).containsExactly("prog", "1");
    }

    @Test
    void withoutAPlaceholderTheItemIsTheLastArgumentAsInGnuParallel() {
        assertThat(Placeholders.command(List.of("gzip", "-9"), "f.log", 3)).containsExactly("gzip", "-9", "f.log");
    }

    @Test
    void anItemHoldingPlaceholdersIsInsertedLiterally() {
        assertThat(Placeholders.substitute("x{}y", "{#}{}", 5)).isEqualTo("x{#}{}y");
        assertThat(Placeholders.substitute("{{}}", "i", 5)).isEqualTo("{i}");
    }

    @Property
    void wordsWithoutBracesAreUntouched(@ForAll("plain") String word, @ForAll String item, @ForAll @IntRange(min = 1) int n) {
        assertThat(Placeholders.substitute(word, item, n)).isEqualTo(word);
    }

    @Property
    void substitutionIsConcatenationOfTheParts(@ForAll("plain") String a, @ForAll("plain") String b, @ForAll("plain") String c,
                                               @ForAll @StringLength(max = 20) String item, @ForAll @IntRange(min = 1) int n) {
        assertThat(Placeholders.substitute(a + "{}" + b + "{#}" + c, item, n)).isEqualTo(a + item + b + n + c);
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> plain() {
        return net.jqwik.api.Arbitraries.strings().ofMaxLength(20).filter(s -> !s.contains("{") && !s.contains("}"));
    }

    @Test
    void expansionSubstitutesGlobsAndKeepsTheItem() {
        JobSpec template = JobSpec.builder(List.of("convert", "{}", "{#}.png")).cwd("/w").inputGlobs(List.of("in/{}"))
                .outputGlobs(List.of("{#}.png")).cpus(2).build();
        List<JobSpec> jobs = Expansion.expand(template, List.of("a.tif", "b.tif"));
        assertThat(jobs).hasSize(2);
        assertThat(jobs.get(1).argv()).containsExactly("convert", "b.tif", "2.png");
        assertThat(jobs.get(1).inputGlobs()).containsExactly("in/b.tif");
        assertThat(jobs.get(1).outputGlobs()).containsExactly("2.png");
        assertThat(jobs.get(1).arrayItem()).isEqualTo("b.tif");
        assertThat(jobs.get(1).cpus()).isEqualTo(2);
        assertThat(jobs.get(0).cwd()).isEqualTo("/w");
    }
}
