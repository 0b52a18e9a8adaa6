package io.herd.scheduler;

import static io.herd.scheduler.Hosts.host;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class MovesTest {

    /** 10 reference seconds of work from home "home". */
    static JobRequest job(String id) {
        return JobRequest.of(id, "ann").withWork(10).from("home");
    }

    static List<String> moves(List<Moves.Move> ms) {
        return ms.stream().map(m -> m.jobId() + ":" + m.from() + "->" + m.to()).toList();
    }

    /** One core each, capped: fast 0.8, slow 0.2 (the hetero benchmark's ends). */
    static final HostView FAST_FREE = host("fast").cores(1).speed(1).share(0.8).slots(1).build();
    static final HostView SLOW_BUSY = host("slow").cores(1).speed(1).share(0.2).slots(1).guests(1).load(1).build();

    @Test
    void aJobWithLongToGoOnASlowHostMovesToAFreeFastOne() {
        // 10 s of work: 12.5 s on the free fast host; 40 s left on the slow one.
        List<Moves.Move> ms = Moves.plan(List.of(new Moves.Running(job("j1"), "slow", 40)), List.of(FAST_FREE, SLOW_BUSY));
        assertThat(moves(ms)).containsExactly("j1:slow->fast");
        assertThat(ms.get(0).thereSeconds()).isCloseTo(12.5, org.assertj.core.data.Offset.offset(0.01));
    }

    @Test
    void aJobNearlyDoneStaysWhereItIs() {
        // 15 s left against 12.5 s from scratch: not worth the restart (needs ≤ 0.7 × 15 = 10.5 s).
        assertThat(Moves.plan(List.of(new Moves.Running(job("j1"), "slow", 15)), List.of(FAST_FREE, SLOW_BUSY))).isEmpty();
        // Just past the margin it moves.
        assertThat(moves(Moves.plan(List.of(new Moves.Running(job("j1"), "slow", 12.5 / Moves.MOVE_MARGIN + 0.01)),
                List.of(FAST_FREE, SLOW_BUSY)))).containsExactly("j1:slow->fast");
    }

    @Test
    void oneFreeSlotTakesTheJobWithTheMostLeftAndNoMore() {
        List<Moves.Running> running = List.of(new Moves.Running(job("a"), "slow", 30), new Moves.Running(job("b"), "slow2", 60));
        HostView slow2 = host("slow2").cores(1).speed(1).share(0.2).slots(1).guests(1).load(1).build();
        assertThat(moves(Moves.plan(running, List.of(FAST_FREE, SLOW_BUSY, slow2)))).containsExactly("b:slow2->fast");
        HostView twoSlots = host("fast").cores(2).speed(1).share(1.6).slots(2).build();
        assertThat(moves(Moves.plan(running, List.of(twoSlots, SLOW_BUSY, slow2)))).containsExactly("b:slow2->fast", "a:slow->fast");
    }

    @Test
    void nothingMovesToABusyHostItsOwnHostOrAHostTheJobCannotUse() {
        HostView fastBusy = host("fast").cores(1).speed(1).share(0.8).slots(1).guests(1).build();
        Moves.Running r = new Moves.Running(job("j1"), "slow", 100);
        assertThat(Moves.plan(List.of(r), List.of(fastBusy, SLOW_BUSY))).as("no free slot").isEmpty();
        assertThat(Moves.plan(List.of(new Moves.Running(job("j1"), "fast", 100)), List.of(FAST_FREE))).as("its own host").isEmpty();
        JobRequest pinned = job("j2").pinnedTo("slow");
        assertThat(Moves.plan(List.of(new Moves.Running(pinned, "slow", 100)), List.of(FAST_FREE, SLOW_BUSY))).as("pinned").isEmpty();
        JobRequest needs = job("j3").withNeeds(java.util.Set.of("povray"));
        assertThat(Moves.plan(List.of(new Moves.Running(needs, "slow", 100)), List.of(FAST_FREE, SLOW_BUSY))).as("lacks the program").isEmpty();
        HostView fastLocked = host("fast").cores(1).speed(1).share(0.8).slots(1).closed("locked").build();
        assertThat(Moves.plan(List.of(r), List.of(fastLocked, SLOW_BUSY))).as("takes no guests").isEmpty();
        assertThat(Moves.plan(List.of(), List.of(FAST_FREE))).isEmpty();
    }
}
