package io.herd.transfer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The staged-path rule: whatever is accepted stays strictly inside the directory it is resolved against. */
class PathRulesTest {

    @Provide
    Arbitrary<String> paths() {
        Arbitrary<String> part = Arbitraries.oneOf(
                Arbitraries.of("..", ".", "", "a", "b.txt", "..x", "x..", " ", "\\", "~"),
                Arbitraries.strings().withChars("ab./\\ -_").ofMinLength(1).ofMaxLength(6));
        return part.list().ofMinSize(1).ofMaxSize(6).map(parts -> String.join("/", parts))
                .map(p -> p.startsWith("//") ? p.substring(1) : p);
    }

    @Property(tries = 2000)
    void acceptedPathsNeverLeaveTheirRoot(@ForAll("paths") String path) {
        Path root = Path.of("/sandbox/job");
        if (FileOps.unsafeReason(path) == null) {
            Path resolved = root.resolve(path).normalize();
            assertThat(resolved.startsWith(root)).as(path).isTrue();
            assertThat(resolved).as(path).isNotEqualTo(root);
            assertThat(root.relativize(resolved).toString()).isEqualTo(path);
        }
    }

    @Property(tries = 500)
    void pathsWithADotDotComponentAreAlwaysRefused(@ForAll("paths") String prefix, @ForAll("paths") String suffix) {
        assertThat(FileOps.unsafeReason(prefix + "/../" + suffix)).isNotNull();
        assertThat(FileOps.unsafeReason("../" + suffix)).isNotNull();
    }
}
