package io.herd.journal;

import io.herd.journal.JobState.Cancelled;
import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Failed;
import io.herd.journal.JobState.Held;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TransitionsTest {

    /** The whole graph, written out once more so a change to it must be made twice. */
    private static final Map<String, Set<String>> EXPECTED = Map.of(
            "queued", Set.of("placed", "held", "failed", "cancelled"),
            "placed", Set.of("running", "queued", "failed", "cancelled"),
            "running", Set.of("done", "failed", "queued", "cancelled"),
            "held", Set.of("queued", "cancelled"),
            "done", Set.of(),
            "failed", Set.of(),
            "cancelled", Set.of());

    static final JobSpec SPEC = JobSpec.of(List.of("true"), "/tmp");

    static JobRecord job(JobState state, int attempts, int atRelease, int maxRetries) {
        JobSpec spec = SPEC.toBuilder().maxRetries(maxRetries).build();
        return new JobRecord("n.1", 1, "ann", spec, state, null, attempts, atRelease, 0, null, null, 0, null, null, 0, null, -1);
    }

    /** A representative of each state, with the attempt bookkeeping that makes the edge legal. */
    static JobState sample(String name) {
        return switch (name) {
            case "queued" -> Queued.SUBMITTED;
            case "placed" -> new Placed("h", 1);
            case "running" -> new Running("h", 1, 5);
            case "done" -> new Done(0, "h", 9);
            case "failed" -> new Failed("boom", -1);
            case "held" -> new Held("out of retries");
            case "cancelled" -> new Cancelled("ann");
            default -> throw new AssertionError(name);
        };
    }

    @Test
    void graphIsExactlyTheDesignedOne() {
        for (String from : Transitions.STATES) {
            for (String to : Transitions.STATES) {
                assertThat(Transitions.allowed(from, to)).as(from + " -> " + to).isEqualTo(EXPECTED.get(from).contains(to));
            }
        }
        assertThatThrownBy(() -> Transitions.allowed("queued", "zombie")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void everyIllegalEdgeThrowsNamingBothStates() {
        for (String from : Transitions.STATES) {
            for (String to : Transitions.STATES) {
                if (EXPECTED.get(from).contains(to)) continue;
                JobRecord j = job(sample(from), 1, 0, 3);
                assertThatThrownBy(() -> Transitions.check(j, sample(to)))
                        .as(from + " -> " + to)
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("from " + from)
                        .hasMessageContaining("to " + to);
            }
        }
    }

    @Test
    void terminalStatesSaySo() {
        for (String t : List.of("done", "failed", "cancelled")) {
            assertThat(sample(t).terminal()).isTrue();
            assertThatThrownBy(() -> Transitions.check(job(sample(t), 1, 0, 3), new Cancelled("ann")))
                    .hasMessageContaining("stays so");
        }
        for (String t : Transitions.nonTerminal()) assertThat(sample(t).terminal()).as(t).isFalse();
    }

    @Test
    void legalEdgesPass() {
        assertThatCode(() -> Transitions.check(job(Queued.SUBMITTED, 0, 0, 3), new Placed("h", 1))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Placed("h", 1), 1, 0, 3), new Running("h", 1, 3))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Running("h", 1, 3), 1, 0, 3), new Done(0, "h", 4))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Running("h", 1, 3), 1, 0, 3), new Failed("x", 2))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Running("h", 1, 3), 1, 0, 3), new Queued("host h lost"))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Placed("h", 1), 1, 0, 3), new Queued("refused by h"))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(Queued.SUBMITTED, 4, 0, 3), new Held("lost 4 hosts"))).doesNotThrowAnyException();
        assertThatCode(() -> Transitions.check(job(new Held("x"), 4, 0, 3), new Queued("released"))).doesNotThrowAnyException();
        for (String s : Transitions.nonTerminal()) {
            assertThatCode(() -> Transitions.check(job(sample(s), 1, 0, 3), new Cancelled("ann"))).as(s).doesNotThrowAnyException();
        }
    }

    @Test
    void placementMustBeTheNextAttempt() {
        assertThatThrownBy(() -> Transitions.check(job(Queued.SUBMITTED, 2, 0, 3), new Placed("h", 2)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("attempt 3");
    }

    @Test
    void runningMustMatchItsPlacement() {
        JobRecord placed = job(new Placed("h", 1), 1, 0, 3);
        assertThatThrownBy(() -> Transitions.check(placed, new Running("other", 1, 0))).hasMessageContaining("placed on h");
        assertThatThrownBy(() -> Transitions.check(placed, new Running("h", 2, 0))).hasMessageContaining("attempt 1");
    }

    @Test
    void heldOnlyWhenRetriesAreUsedUpAndNotPlacedAfter() {
        // max retries 3: four placements allowed
        assertThatThrownBy(() -> Transitions.check(job(Queued.SUBMITTED, 3, 0, 3), new Held("x")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("still has retries");
        assertThatThrownBy(() -> Transitions.check(job(Queued.SUBMITTED, 4, 0, 3), new Placed("h", 5)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("hold it");
        // after a release at 4 attempts the budget starts again
        assertThatCode(() -> Transitions.check(job(Queued.SUBMITTED, 4, 4, 3), new Placed("h", 5))).doesNotThrowAnyException();
        assertThatThrownBy(() -> Transitions.check(job(Queued.SUBMITTED, 4, 4, 3), new Held("x")))
                .isInstanceOf(IllegalStateException.class);
        // no retries at all: one placement, then held
        assertThatCode(() -> Transitions.check(job(Queued.SUBMITTED, 1, 0, 0), new Held("x"))).doesNotThrowAnyException();
    }

    // ------------------------------------------------------------ random walks

    @Property(tries = 300)
    void randomWalksKeepTheInvariants(@ForAll("steps") List<Integer> steps, @ForAll @IntRange(min = 0, max = 4) int maxRetries) {
        JobRecord j = job(Queued.SUBMITTED, 0, 0, maxRetries);
        int placementsInBudget = 0;
        for (int step : steps) {
            JobState to = candidate(j, step);
            boolean wasTerminal = j.state().terminal();
            try {
                Transitions.check(j, to);
            } catch (IllegalStateException refused) {
                continue;
            }
            assertThat(wasTerminal).as("nothing follows a terminal state").isFalse();
            assertThat(Transitions.allowed(j.state().name(), to.name())).isTrue();
            if (to instanceof Placed) placementsInBudget++;
            if (j.state() instanceof Held) placementsInBudget = 0;
            assertThat(placementsInBudget).as("placements per retry budget").isLessThanOrEqualTo(maxRetries + 1);
            if (to instanceof Held) assertThat(placementsInBudget).isEqualTo(maxRetries + 1);
            j = applied(j, to);
        }
    }

    @Provide
    Arbitrary<List<Integer>> steps() {
        return Arbitraries.integers().between(0, 20).list().ofMaxSize(60);
    }

    /** A plausible next state: mostly what the home node would try, sometimes nonsense. */
    private static JobState candidate(JobRecord j, int step) {
        String host = j.host() == null ? "h" + step % 3 : j.host();
        return switch (step % 10) {
            case 0, 1 -> new Placed("h" + step % 3, step > 15 ? j.attempts() + 2 : j.attempts() + 1);
            case 2, 3 -> new Running(host, Math.max(1, j.attempts()), step);
            case 4 -> new Queued("host lost");
            case 5 -> new Done(0, host, step);
            case 6 -> new Held("out of retries");
            case 7 -> step > 10 ? new Failed("no such program", -1) : new Queued("released");
            case 8 -> new Cancelled("ann");
            default -> new Placed(host, j.attempts() + 1);
        };
    }

    private static JobRecord applied(JobRecord j, JobState to) {
        int attempts = to instanceof Placed p ? p.attempt() : j.attempts();
        int atRelease = j.state() instanceof Held && to instanceof Queued ? j.attempts() : j.attemptsAtRelease();
        String host = to instanceof Placed p ? p.host() : to instanceof Queued ? null : j.host();
        return new JobRecord(j.id(), j.seq(), j.user(), j.spec(), to, host, attempts, atRelease, j.evictions(),
                null, null, 0, null, null, 0, null, -1);
    }
}
