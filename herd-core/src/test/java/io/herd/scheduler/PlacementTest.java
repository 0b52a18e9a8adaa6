package io.herd.scheduler;

import io.herd.scheduler.Explanation.Verdict;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.herd.scheduler.Hosts.G;
import static io.herd.scheduler.Hosts.host;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class PlacementTest {

    static final JobRequest JOB = JobRequest.of("j1", "ann").withWork(10).from("home");

    static List<String> order(JobRequest job, Hosts... hosts) {
        List<HostView> views = new ArrayList<>();
        for (Hosts h : hosts) views.add(h.build());
        return names(Placement.rank(job, views));
    }

    static List<String> names(Plan plan) {
        return plan.ranked().stream().map(Candidate::host).toList();
    }

    // --- the formula -----------------------------------------------------------

    @Test
    void anIdleHostGivesTheJobWholeCores() {
        Candidate c = Placement.estimate(JOB, host("a").speed(5).build());
        assertThat(c.computeSeconds()).isCloseTo(2.0, within(1e-9)); // 10 / (5 × 1)
        assertThat(c.transferSeconds()).isZero();
        assertThat(c.expectedSeconds()).isCloseTo(2.0, within(1e-9));
        assertThat(Placement.estimate(JOB.withCpus(4), host("a").speed(5).cores(4).build()).computeSeconds())
                .isCloseTo(0.5, within(1e-9));
    }

    @Test
    void theOwnersLoadAndOtherGuestsTakeTheirShare() {
        // Owner load 3 of 4 cores: guests share what is left.
        assertThat(Placement.effectiveCores(2, host("a").cores(4).load(3).build(), 0)).isCloseTo(1.0, within(1e-9));
        // Load that is guests' own is not the owner's: 2 guests, load 2, a 1-CPU job still gets a core.
        assertThat(Placement.effectiveCores(1, host("a").cores(4).load(2).guests(2).build(), 2)).isCloseTo(1.0, within(1e-9));
        // A guest share of one core, one guest there already: half a core each.
        assertThat(Placement.effectiveCores(1, host("a").share(1).load(1).guests(1).build(), 1)).isCloseTo(0.5, within(1e-9));
        // A share below one core.
        assertThat(Placement.effectiveCores(1, host("a").share(0.2).build(), 0)).isCloseTo(0.2, within(1e-9));
        // A saturated host still gets the floor, so it stays finite and ordered by speed.
        assertThat(Placement.effectiveCores(1, host("a").cores(4).load(9).build(), 0)).isEqualTo(Placement.MIN_EFFECTIVE_CORES);
    }

    @Test
    void inputsCostTimeExceptAtHome() {
        JobRequest job = JOB.withInput(500_000_000L);
        assertThat(Placement.estimate(job, host("home").build()).transferSeconds()).isZero();
        assertThat(Placement.estimate(job, host("far").build()).transferSeconds()).as("100 MB/s when unmeasured")
                .isCloseTo(5.0, within(1e-9));
        assertThat(Placement.estimate(job, host("far").bandwidth(10e6).build()).transferSeconds()).isCloseTo(50.0, within(1e-9));
        Candidate c = Placement.estimate(job, host("far").bandwidth(10e6).speed(5).build());
        assertThat(c.expectedSeconds()).isCloseTo(52.0, within(1e-9));
    }

    @Test
    void unmeasuredSpeedCountsAsOne() {
        assertThat(Placement.estimate(JOB, host("a").speed(0).build()).computeSeconds()).isCloseTo(10.0, within(1e-9));
    }

    // --- ranking ---------------------------------------------------------------

    @Test
    void fasterFirstLoadedLaterRejectedWithReasons() {
        Plan plan = Placement.rank(JOB, List.of(host("slow").speed(2).build(), host("fast").speed(6).build(),
                host("busy").speed(6).load(4).build(), host("gone").state("dead").build(),
                host("full").slots(2).guests(2).build()));
        assertThat(names(plan)).containsExactly("fast", "slow", "busy");
        assertThat(plan.best()).map(Candidate::host).contains("fast");
        assertThat(plan.rejected()).containsExactly(
                java.util.Map.entry("full", "slots: all 2 guest slots busy"),
                java.util.Map.entry("gone", "state: node is dead"));
        assertThat(Placement.rank(JOB, List.of()).best()).isEmpty();
    }

    @Test
    void tiesGoToTheLessLoadedThenByName() {
        assertThat(order(JOB, host("b"), host("c"), host("a"))).containsExactly("a", "b", "c");
        // Both saturated: equal expected time, the lighter one first whatever its name.
        assertThat(order(JOB, host("a").load(20), host("b").load(9))).containsExactly("b", "a");
    }

    @Test
    void aGuestCpuCapIsSharedByTheGuestsRunningThere() {
        // Capped at 0.4 cores: a lone guest gets 0.4, one more guest halves it; never below the 0.1 floor.
        Hosts capped = host("a").cores(8).share(0.4);
        assertThat(Placement.effectiveCores(1, capped.build(), 0)).isCloseTo(0.4, within(1e-9));
        assertThat(Placement.effectiveCores(1, capped.guests(1).load(1).build(), 1)).isCloseTo(0.2, within(1e-9));
        assertThat(Placement.effectiveCores(1, host("a").cores(8).share(0.1).guests(1).load(1).build(), 1))
                .isCloseTo(Placement.MIN_EFFECTIVE_CORES, within(1e-9));
        // The cap is what guests get even on an idle 8-core node: speed 10 capped at 0.4 is speed 4 uncapped.
        assertThat(Placement.estimate(JOB, host("a").cores(8).speed(10).share(0.4).build()).computeSeconds())
                .isCloseTo(Placement.estimate(JOB, host("b").cores(8).speed(4).build()).computeSeconds(), within(1e-9));
        // A cap above what the owner leaves does not help: owner load 7.5 of 8 leaves 0.5 whatever the cap.
        assertThat(Placement.effectiveCores(1, host("a").cores(8).load(7.5).share(4).build(), 0)).isCloseTo(0.5, within(1e-9));
    }

    @Test
    void aSmallGuestShareMakesAFastNodeSlow() {
        assertThat(order(JOB, host("fast").speed(8).share(0.25), host("plain").speed(3))).containsExactly("plain", "fast");
    }

    @Test
    void bigInputsStayNearHome() {
        Hosts home = host("home").speed(4);
        Hosts far = host("far").speed(8).bandwidth(1e6);
        assertThat(order(JOB.withInput(1_000), home, far)).containsExactly("far", "home");
        assertThat(order(JOB.withInput(100_000_000), home, far)).containsExactly("home", "far");
    }

    // --- ranking properties ----------------------------------------------------

    @Property(tries = 300)
    void aStrictlyFasterHostNeverRanksWorse(@ForAll("hosts") HostView base, @ForAll("jobs") JobRequest job,
                                            @ForAll @DoubleRange(min = 0.01, max = 3) double faster,
                                            @ForAll boolean fasterIsA, @ForAll("others") List<HostView> others) {
        HostView slow = Hosts.from(base).name(fasterIsA ? "b" : "a").build();
        HostView fast = Hosts.from(base).name(fasterIsA ? "a" : "b").speed(base.speed() * (1 + faster)).build();
        List<String> ranked = rankAll(job, slow, fast, others);
        if (ranked.contains("a")) assertThat(ranked.indexOf(fast.name())).isLessThan(ranked.indexOf(slow.name()));
    }

    @Property(tries = 300)
    void aMoreLoadedHostNeverRanksBetter(@ForAll("hosts") HostView base, @ForAll("jobs") JobRequest job,
                                         @ForAll @DoubleRange(min = 0.01, max = 8) double more,
                                         @ForAll boolean loadedIsA, @ForAll("others") List<HostView> others) {
        HostView light = Hosts.from(base).name(loadedIsA ? "b" : "a").build();
        HostView loaded = Hosts.from(base).name(loadedIsA ? "a" : "b").load(base.load1() + more).build();
        List<String> ranked = rankAll(job, light, loaded, others);
        if (ranked.contains("a")) assertThat(ranked.indexOf(light.name())).isLessThan(ranked.indexOf(loaded.name()));
    }

    @Property(tries = 300)
    void movingInputsFarCostsWhatItShould(@ForAll @DoubleRange(min = 0.5, max = 10) double speed,
                                          @ForAll @DoubleRange(min = 1.5, max = 4) double speedup,
                                          @ForAll @DoubleRange(min = 1e6, max = 1e9) double bandwidth,
                                          @ForAll @DoubleRange(min = 1, max = 10_000) double work) {
        HostView home = host("home").speed(speed).build();
        HostView far = host("far").speed(speed * speedup).bandwidth(bandwidth).build();
        JobRequest job = JOB.withWork(work);
        double gain = work / speed - work / (speed * speedup); // seconds saved by computing far away
        long tiny = (long) (0.1 * gain * bandwidth);
        long big = (long) Math.ceil(10 * gain * bandwidth);
        assertThat(names(Placement.rank(job.withInput(tiny), List.of(home, far)))).containsExactly("far", "home");
        assertThat(names(Placement.rank(job.withInput(big), List.of(home, far)))).containsExactly("home", "far");
    }

    @Property(tries = 200)
    void everyHostIsRankedOrRejectedAndRankedOnesAreFeasible(@ForAll("jobs") JobRequest job,
                                                            @ForAll("others") List<HostView> hosts) {
        Plan plan = Placement.rank(job, hosts);
        Set<String> seen = new HashSet<>(names(plan));
        seen.addAll(plan.rejected().keySet());
        assertThat(seen).hasSize(hosts.size());
        for (HostView h : hosts) {
            assertThat(plan.rejected().containsKey(h.name())).isEqualTo(Feasibility.check(job, h).isPresent());
        }
        List<Candidate> ranked = plan.ranked();
        for (int i = 1; i < ranked.size(); i++) {
            assertThat(ranked.get(i - 1).expectedSeconds()).isLessThanOrEqualTo(ranked.get(i).expectedSeconds());
        }
        // A pure function of its inputs: the order of the hosts does not matter.
        List<HostView> shuffled = new ArrayList<>(hosts);
        Collections.reverse(shuffled);
        assertThat(Placement.rank(job, shuffled)).isEqualTo(plan);
    }

    private static List<String> rankAll(JobRequest job, HostView a, HostView b, List<HostView> others) {
        List<HostView> all = new ArrayList<>(others);
        all.add(a);
        all.add(b);
        Collections.shuffle(all, new java.util.Random(all.size()));
        List<String> ranked = names(Placement.rank(job, all));
        assertThat(ranked.contains(a.name())).isEqualTo(ranked.contains(b.name()));
        return ranked;
    }

    @Provide
    Arbitrary<HostView> hosts() {
        var cpu = Combinators.combine(Arbitraries.integers().between(1, 16), Arbitraries.doubles().between(0.2, 20),
                Arbitraries.doubles().between(0, 20), Arbitraries.of(0.0, 0.2, 0.5, 1.0, 2.5, 16.0));
        var guests = Combinators.combine(Arbitraries.integers().between(0, 8), Arbitraries.integers().between(0, 8),
                Arbitraries.of(0.0, 1e6, 1e8, 1e9));
        return Combinators.combine(cpu.as(List::of), guests.as(List::of)).as((c, g) -> host("x")
                .cores((Integer) c.get(0)).speed((Double) c.get(1)).load((Double) c.get(2)).share((Double) c.get(3))
                .slots((Integer) g.get(0) + (Integer) g.get(1)).guests((Integer) g.get(1)).bandwidth((Double) g.get(2))
                .build());
    }

    @Provide
    Arbitrary<List<HostView>> others() {
        return hosts().list().ofMaxSize(6).map(list -> {
            List<HostView> named = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) named.add(Hosts.from(list.get(i)).name("o" + i).build());
            return named;
        });
    }

    @Provide
    Arbitrary<JobRequest> jobs() {
        return Combinators.combine(Arbitraries.integers().between(1, 4), Arbitraries.doubles().between(0.1, 1e4),
                Arbitraries.of(0L, 1_000L, 50_000_000L, 1_000_000_000L), Arbitraries.of("home", "o0"))
                // Never a or b: being home (no transfer) is not "otherwise equal".
                .as((cpus, work, input, home) -> JobRequest.of("j", "ann").withCpus(cpus).withWork(work)
                        .withInput(input).from(home));
    }

    // --- explaining ------------------------------------------------------------

    static Explanation explain(JobRequest job, Hosts... hosts) {
        List<HostView> views = new ArrayList<>();
        for (Hosts h : hosts) views.add(h.build());
        return Placement.explainUnsatisfiable(job, views);
    }

    @Test
    void nodesNotTakingGuestsAreSkippedAndOnlyMakeTheJobWait() {
        Plan plan = Placement.rank(JOB, List.of(host("fast").speed(50).closed("locked (backup)").build(),
                host("slow").speed(1).build()));
        assertThat(plan.best().orElseThrow().host()).isEqualTo("slow");
        assertThat(plan.rejected()).containsEntry("fast", "guests: node takes none now: locked (backup)");
        Explanation one = Placement.explainUnsatisfiable(JOB, List.of(host("a").closed("never").build()));
        assertThat(one.verdict()).as("the owner may change their mind").isEqualTo(Verdict.WAIT);
        assertThat(one.message()).isEqualTo("the only node that can run this, a, is busy (guests: node takes none now: "
                + "never); the job waits in the queue");
        Explanation all = Placement.explainUnsatisfiable(JOB, List.of(host("a").closed("never").build(),
                host("b").closed("window (next opens Mon 19:00)").build(), host("c").build().withGuests("", 0)));
        assertThat(all.verdict()).isEqualTo(Verdict.RUNNABLE);
        Explanation none = Placement.explainUnsatisfiable(JOB, List.of(host("a").closed("never").build(),
                host("b").closed("locked").build()));
        assertThat(none.message()).isEqualTo("all 2 nodes that can run this are busy (2 not taking guests now); "
                + "the job waits in the queue");
    }

    @Test
    void neverWhenTheLargestNodeIsTooSmall() {
        Explanation e = explain(JOB.withMem(64 * G), host("alpha").memTotal(16 * G),
                host("beta").memTotal((long) (23.5 * G)), host("gamma").memTotal(8 * G).slots(1).guests(1));
        assertThat(e.verdict()).isEqualTo(Verdict.NEVER);
        assertThat(e.message()).isEqualTo("no node can ever run this: it needs 64.0G of memory but the largest node, "
                + "beta, has 23.5G in total; ask for less with --mem");
        assertThat(explain(JOB.withMem(16 * G), host("alpha").memTotal(16 * G)).message()).isEqualTo(
                "no node can ever run this: it needs 16.0G of memory but the largest node, alpha, has 16.0G in total"
                        + " and keeps 819.2M in reserve; ask for less with --mem");
    }

    @Test
    void neverWhenTheConstraintMatchesNoNode() {
        Explanation e = explain(JOB.withConstraint(Constraint.parse("gpu==a100 && mem>=4G")), host("alpha"), host("beta"));
        assertThat(e.verdict()).isEqualTo(Verdict.NEVER);
        assertThat(e.message()).isEqualTo("no node can ever run this: --on 'gpu==a100 && mem>=4G' matches no node "
                + "(no node has label gpu); compare it with herd nodes");
        assertThat(explain(JOB.withConstraint(Constraint.parse("memtotal>=64G")), host("alpha")).message())
                .isEqualTo("no node can ever run this: --on 'memtotal>=64G' matches no node; compare it with herd nodes");
    }

    @Test
    void neverForCpusProgramsAndSlots() {
        assertThat(explain(JOB.withCpus(8), host("a").cores(4), host("b").cores(2)).message())
                .isEqualTo("no node can ever run this: it needs 8 CPUs but the largest node has 4 cores; ask for fewer with --cpus");
        assertThat(explain(JOB.withCpus(2), host("a").share(0.5), host("b").share(1)).message())
                .isEqualTo("no node can ever run this: it needs 2 CPUs but guests may use at most 1 on any node; ask for fewer with --cpus");
        assertThat(explain(JOB.withNeeds(Set.of("povray")), host("a"), host("b")).message())
                .isEqualTo("no node can ever run this: povray is not installed on any node");
        assertThat(explain(JOB.withNeeds(Set.of("povray", "openssl")), host("a").programs("openssl"), host("b").programs("povray"))
                .message()).isEqualTo("no node can ever run this: no node has all of openssl, povray installed");
        assertThat(explain(JOB, host("a").slots(0), host("b").slots(0)).message())
                .isEqualTo("no node can ever run this: no node takes guests (every node has 0 guest slots)");
        assertThat(explain(JOB, host("a").state("left"), host("b").state("leaving")).message())
                .isEqualTo("no node can ever run this: every node is leaving or has left");
    }

    @Test
    void neverForDifferentReasonsListsEachNode() {
        Explanation e = explain(JOB.withMem(20 * G).withNeeds(Set.of("povray")),
                host("beta").memTotal(64 * G).memFree(60 * G), host("alpha").memTotal(16 * G).programs("povray"));
        assertThat(e.verdict()).isEqualTo(Verdict.NEVER);
        assertThat(e.message()).isEqualTo("no node can ever run this: alpha: mem: needs 20.0G, node has 16.0G in total; "
                + "beta: needs: povray not installed");
    }

    @Test
    void waitWhenEverySuitableNodeIsBusy() {
        Explanation e = explain(JOB.withMem(4 * G), host("a").slots(2).guests(2), host("b").slots(1).guests(1),
                host("c").memFree(G), host("tiny").memTotal(2 * G));
        assertThat(e.verdict()).isEqualTo(Verdict.WAIT);
        assertThat(e.message()).isEqualTo("all 3 nodes that can run this are busy (2 with no free guest slot, "
                + "1 short of free memory); the job waits in the queue");
        Explanation one = explain(JOB, host("alpha").slots(4).guests(4), host("b").slots(0));
        assertThat(one.verdict()).isEqualTo(Verdict.WAIT);
        assertThat(one.message()).isEqualTo("the only node that can run this, alpha, is busy "
                + "(slots: all 4 guest slots busy); the job waits in the queue");
        assertThat(explain(JOB.withConstraint(Constraint.parse("load<1")), host("a").load(3), host("b").state("dead"))
                .message()).isEqualTo("all 2 nodes that can run this are busy (1 not alive now, "
                + "1 failing the constraint now); the job waits in the queue");
        assertThat(Placement.explainUnsatisfiable(JOB, List.of()).verdict()).isEqualTo(Verdict.WAIT);
    }

    @Test
    void pinnedJobsSpeakOfTheirNode() {
        assertThat(explain(JOB.pinnedTo("zeta"), host("alpha"))).isEqualTo(
                new Explanation(Verdict.NEVER, "no node named zeta in the cluster; see herd nodes"));
        assertThat(explain(JOB.pinnedTo("alpha").withCpus(8), host("alpha"), host("big").cores(16))).isEqualTo(
                new Explanation(Verdict.NEVER, "node alpha can never run this: cpus: needs 8, node has 4 cores"));
        assertThat(explain(JOB.pinnedTo("alpha"), host("alpha").slots(1).guests(1), host("idle"))).isEqualTo(
                new Explanation(Verdict.WAIT, "node alpha is busy (slots: all 1 guest slot busy); the job waits in the queue"));
        assertThat(explain(JOB.pinnedTo("alpha"), host("alpha"), host("idle")).verdict()).isEqualTo(Verdict.RUNNABLE);
    }

    @Test
    void runnableSaysWhere() {
        assertThat(explain(JOB, host("a").speed(5), host("b").slots(0))).isEqualTo(
                new Explanation(Verdict.RUNNABLE, "can run now on 1 of 2 nodes; best is a (about 2 s)"));
    }

    @Property(tries = 200)
    void neverMeansNoHostIsFeasibleEvenWhenIdle(@ForAll("jobs") JobRequest job, @ForAll("others") List<HostView> hosts,
                                                @ForAll @IntRange(min = 0, max = 64) int memG) {
        JobRequest j = job.withMem(memG * G);
        Explanation e = Placement.explainUnsatisfiable(j, hosts);
        boolean feasibleNow = Placement.rank(j, hosts).best().isPresent();
        assertThat(e.verdict() == Verdict.RUNNABLE).isEqualTo(feasibleNow);
        List<HostView> idle = hosts.stream().map(h -> Hosts.from(h).load(0).guests(0).memFree(h.memTotalBytes()).build()).toList();
        boolean feasibleIdle = Placement.rank(j, idle).best().isPresent();
        if (e.verdict() == Verdict.NEVER) assertThat(feasibleIdle).isFalse();
        if (feasibleIdle) assertThat(e.verdict()).isNotEqualTo(Verdict.NEVER);
    }
}
