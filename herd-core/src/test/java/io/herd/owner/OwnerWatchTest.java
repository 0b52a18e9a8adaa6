package io.herd.owner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.herd.owner.OwnerWatch.Action;
import io.herd.owner.OwnerWatch.Decision;
import io.herd.owner.OwnerWatch.Settings;
import io.herd.owner.OwnerWatch.State;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The owner-comes-back rules on a virtual clock (milliseconds passed in). */
class OwnerWatchTest {

    private static final long NEVER = OwnerInput.NEVER;
    private static final Settings SETTINGS = new Settings(Duration.ofMinutes(2), Duration.ofSeconds(30), 0);

    @Test
    void guestsRunWhileTheOwnerIsAway() {
        OwnerWatch w = new OwnerWatch(SETTINGS);
        for (long t = 0; t < 600_000; t += 20) assertThat(w.observe(t, NEVER, 0.0)).isEmpty();
        assertThat(w.observe(700_000, 10_000, 0.0)).as("input long ago").isEmpty();
        assertThat(w.state()).isEqualTo(State.LENT);
        assertThat(w.acceptsGuests()).isTrue();
    }

    @Test
    void inputFreezesAtTheFirstReadingThatSeesIt() {
        OwnerWatch w = new OwnerWatch(SETTINGS);
        assertThat(w.observe(1000, NEVER, 0)).isEmpty();
        Optional<Decision> d = w.observe(1020, 1015, 0);
        assertThat(d).map(Decision::action).contains(Action.FREEZE);
        assertThat(d.get().reason()).isEqualTo("frozen: the owner is back (owner input)");
        assertThat(w.state()).isEqualTo(State.FROZEN);
        assertThat(w.acceptsGuests()).isFalse();
        assertThat(w.observe(1040, 1015, 0)).as("frozen once").isEmpty();
    }

    @Test
    void thawedWhenTheOwnerGoesQuietWithinTheGrace() {
        OwnerWatch w = new OwnerWatch(SETTINGS);
        w.observe(0, 0, 0);
        // Keeps typing for 20 s, then stops: quiet from 50 s on.
        for (long t = 20; t <= 20_000; t += 20) assertThat(w.observe(t, t, 0)).isEmpty();
        assertThat(w.observe(49_999, 20_000, 0)).isEmpty();
        Optional<Decision> d = w.observe(50_000, 20_000, 0);
        assertThat(d).map(Decision::action).contains(Action.THAW);
        assertThat(d.get().reason()).isEqualTo("thawed: the owner is idle again");
        assertThat(w.state()).isEqualTo(State.LENT);
        assertThat(w.acceptsGuests()).isTrue();
    }

    @Test
    void evictedWhenTheOwnerIsStillActiveAfterTheGrace() {
        OwnerWatch w = new OwnerWatch(SETTINGS);
        assertThat(w.observe(0, 0, 0)).map(Decision::action).contains(Action.FREEZE);
        for (long t = 1000; t < 120_000; t += 1000) assertThat(w.observe(t, t - 500, 0)).isEmpty();
        Optional<Decision> d = w.observe(120_000, 119_800, 0);
        assertThat(d).map(Decision::action).contains(Action.EVICT);
        assertThat(d.get().reason()).startsWith("evicted: owner returned (owner input for longer than the grace of 2m)");
        assertThat(w.state()).isEqualTo(State.EVICTED);
        assertThat(w.acceptsGuests()).as("no new guests while the owner works").isFalse();
        assertThat(w.observe(140_000, 139_000, 0)).isEmpty();
        // Quiet again: guests are welcome, with nothing to thaw.
        assertThat(w.observe(169_000, 139_000, 0)).isEmpty();
        assertThat(w.state()).isEqualTo(State.LENT);
        assertThat(w.acceptsGuests()).isTrue();
        assertThat(w.observe(200_000, 199_990, 0)).map(Decision::action).as("and frozen again next time").contains(Action.FREEZE);
    }

    @Test
    void evictedEvenWhenOneKeyPressEveryFewSecondsKeepsTheOwnerActive() {
        OwnerWatch w = new OwnerWatch(new Settings(Duration.ofSeconds(10), Duration.ofSeconds(5), 0));
        w.observe(0, 0, 0);
        Optional<Decision> d = Optional.empty();
        long t;
        for (t = 20; d.isEmpty(); t += 20) d = w.observe(t, (t / 4000) * 4000, 0);
        assertThat(d.get().action()).isEqualTo(Action.EVICT);
        assertThat(t - 20).isEqualTo(10_000);
    }

    @Test
    void theOwnersLoadOverTheThresholdCountsAsActivity() {
        OwnerWatch w = new OwnerWatch(new Settings(Duration.ofSeconds(60), Duration.ofSeconds(10), 1.0));
        assertThat(w.observe(0, NEVER, 0.9)).isEmpty();
        assertThat(w.observe(1000, NEVER, Double.NaN)).as("unknown load is no activity").isEmpty();
        Optional<Decision> d = w.observe(2000, NEVER, 1.7);
        assertThat(d).map(Decision::action).contains(Action.FREEZE);
        assertThat(d.get().reason()).isEqualTo("frozen: the owner is back (owner load 1.70 cores over the threshold 1)");
        // Load falls under the threshold and there is no input: idle again at once.
        assertThat(w.observe(3000, NEVER, 0.2)).map(Decision::action).contains(Action.THAW);
        w.observe(4000, NEVER, 2.0);
        assertThat(w.observe(64_000, NEVER, 2.0)).map(Decision::action).contains(Action.EVICT);
    }

    @Test
    void withoutAThresholdLoadIsIgnored() {
        OwnerWatch w = new OwnerWatch(SETTINGS);
        assertThat(w.observe(0, NEVER, 16.0)).isEmpty();
    }

    @Test
    void aZeroGraceEvictsAtTheNextReading() {
        OwnerWatch w = new OwnerWatch(new Settings(Duration.ZERO, Duration.ofSeconds(1), 0));
        assertThat(w.observe(0, 0, 0)).map(Decision::action).contains(Action.FREEZE);
        assertThat(w.observe(20, 0, 0)).map(Decision::action).contains(Action.EVICT);
    }

    @Test
    void settingsAreChecked() {
        assertThat(Settings.defaults()).isEqualTo(new Settings(Duration.ofMinutes(2), Duration.ofSeconds(30), 0));
        assertThatThrownBy(() -> new Settings(Duration.ofSeconds(-1), Duration.ofSeconds(1), 0)).hasMessageContaining("grace");
        assertThatThrownBy(() -> new Settings(Duration.ZERO, Duration.ZERO, 0)).hasMessageContaining("quiet");
        assertThatThrownBy(() -> new Settings(Duration.ZERO, Duration.ofSeconds(1), -1)).hasMessageContaining("threshold");
        assertThatThrownBy(() -> new Settings(Duration.ZERO, Duration.ofSeconds(1), Double.NaN)).hasMessageContaining("threshold");
    }

    @Test
    void durations() {
        assertThat(OwnerWatch.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(OwnerWatch.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
        assertThat(OwnerWatch.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(OwnerWatch.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
        assertThat(OwnerWatch.parseDuration("45")).isEqualTo(Duration.ofSeconds(45));
        assertThatThrownBy(() -> OwnerWatch.parseDuration("two minutes")).hasMessageContaining("500ms, 30s, 2m or 1h");
        assertThat(OwnerWatch.format(Duration.ofMinutes(2))).isEqualTo("2m");
        assertThat(OwnerWatch.format(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(OwnerWatch.format(Duration.ofMillis(1500))).isEqualTo("1500ms");
    }
}
