package io.herd.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
    @Test
    void parsesWhatPeopleType() {
        assertThat(Durations.parse("90s", "--ttl")).isEqualTo(Duration.ofSeconds(90));
        assertThat(Durations.parse("1h30m", "--ttl")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Durations.parse("2d", "--ttl")).isEqualTo(Duration.ofDays(2));
        assertThat(Durations.parse("45", "--ttl")).isEqualTo(Duration.ofSeconds(45));
    }

    @Test
    void rejectsNonsenseSayingWhatToType() {
        for (String bad : new String[] {"", "h", "1x", "0s", "1h 2m", "-5m"}) {
            assertThatThrownBy(() -> Durations.parse(bad, "--ttl")).isInstanceOf(CliException.class)
                    .hasMessageContaining("--ttl").hasMessageContaining("such as 90s");
        }
    }
}
