package io.herd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class JobOptionsTest {

    private static JobOptions opts() {
        JobOptions o = new JobOptions();
        o.command = List.of("echo", "hi");
        o.cpus = 1;
        o.maxRetries = 3;
        return o;
    }

    @Test
    void sizesParseAsPeopleTypeThem() {
        assertThat(Sizes.parse("512M", "--mem")).isEqualTo(512L << 20);
        assertThat(Sizes.parse("4g", "--mem")).isEqualTo(4L << 30);
        assertThat(Sizes.parse("1.5G", "--mem")).isEqualTo(3L << 29);
        assertThat(Sizes.parse("2GiB", "--mem")).isEqualTo(2L << 30);
        assertThat(Sizes.parse("1024", "--mem")).isEqualTo(1024);
        for (String bad : new String[] {"", "G", "-1G", "0", "lots"}) {
            assertThatThrownBy(() -> Sizes.parse(bad, "--mem")).isInstanceOf(CliException.class)
                    .hasMessageContaining("bad --mem").hasMessageContaining("such as 512M");
        }
    }

    @Test
    void specCarriesTheOptions() {
        JobOptions o = opts();
        o.node = "beta";
        o.on = "mem>=1G";
        o.mem = "2G";
        o.env = List.of("FOO=bar");
        var s = o.spec(true);
        assertThat(s.getArgvList()).containsExactly("echo", "hi");
        assertThat(s.getNode()).isEqualTo("beta");
        assertThat(s.getConstraint()).isEqualTo("mem>=1G");
        assertThat(s.getMemBytes()).isEqualTo(2L << 30);
        assertThat(s.getEnvMap()).containsEntry("FOO", "bar");
        assertThat(s.getStdin()).isTrue();
    }

    @Test
    void badCombinationsAndValuesAreRefused() {
        JobOptions both = opts();
        both.local = true;
        both.node = "beta";
        assertThatThrownBy(() -> both.spec(false)).hasMessageContaining("--local and --node");
        JobOptions cpus = opts();
        cpus.cpus = 0;
        assertThatThrownBy(() -> cpus.spec(false)).hasMessageContaining("--cpus must be at least 1");
        JobOptions retries = opts();
        retries.maxRetries = -1;
        assertThatThrownBy(() -> retries.spec(false)).hasMessageContaining("--max-retries");
        JobOptions badName = opts();
        badName.env = List.of("1X=y");
        assertThatThrownBy(() -> badName.spec(false)).hasMessageContaining("bad --env '1X=y'");
        JobOptions unset = opts();
        unset.env = List.of("HERD_SURELY_NOT_SET_ANYWHERE");
        assertThatThrownBy(() -> unset.spec(false)).hasMessageContaining("not set in this shell");
    }
}
