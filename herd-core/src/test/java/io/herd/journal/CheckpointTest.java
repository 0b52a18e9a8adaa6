package io.herd.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CheckpointTest {

    @Test
    void signalModesParseAndReadBack() {
        assertThat(Checkpoint.parse(null)).isNull();
        assertThat(Checkpoint.parse("none")).isNull();
        assertThat(Checkpoint.parse("signal")).isEqualTo(new Checkpoint(10));
        assertThat(Checkpoint.parse("signal:USR2").signal()).isEqualTo(12);
        assertThat(Checkpoint.parse("signal:sigterm").signal()).isEqualTo(15);
        assertThat(Checkpoint.parse("signal:34").signal()).isEqualTo(34);
        for (String t : new String[] {"signal", "signal:USR2", "signal:TERM", "signal:34"}) {
            assertThat(Checkpoint.parse(Checkpoint.parse(t).text())).isEqualTo(Checkpoint.parse(t));
        }
        assertThat(Checkpoint.parse("signal").text()).isEqualTo("signal:USR1");
    }

    @Test
    void badModesSayWhatIsAccepted() {
        assertThatThrownBy(() -> Checkpoint.parse("criu")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'criu'").hasMessageContaining("signal:SIG");
        assertThatThrownBy(() -> Checkpoint.parse("signal:FOO")).hasMessageContaining("unknown signal 'FOO'").hasMessageContaining("USR1");
        assertThatThrownBy(() -> Checkpoint.parse("signal:KILL")).hasMessageContaining("unknown signal");
        assertThatThrownBy(() -> Checkpoint.parse("signal:9")).hasMessageContaining("cannot be caught");
        assertThatThrownBy(() -> Checkpoint.parse("signal:99")).hasMessageContaining("not a signal");
    }
}
