package io.herd.scheduler;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.herd.scheduler.Hosts.G;
import static io.herd.scheduler.Hosts.host;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LiveQueueTest {

    static JobRequest job(String id, String user) {
        return JobRequest.of(id, user).withWork(10).from("home");
    }

    static List<String> ids(List<JobRequest> jobs) {
        return jobs.stream().map(JobRequest::id).toList();
    }

    static List<String> placed(List<Assignment> as) {
        return as.stream().map(a -> a.job().id() + "@" + a.host()).toList();
    }

    // --- order -----------------------------------------------------------------

    @Test
    void aRunningJobEndsWhenExpectedOrAfterAQuarterOfItsRunAgainOnceItIsPast() {
        assertThat(LiveQueue.secondsUntilEnd(10, 4)).isEqualTo(6);
        assertThat(LiveQueue.secondsUntilEnd(10, 10)).isEqualTo(2.5);
        assertThat(LiveQueue.secondsUntilEnd(10, 40)).isEqualTo(10);
    }

    @Test
    void fifoWithinAUserBySubmissionTime() {
        LiveQueue q = new LiveQueue();
        q.add(job("a2", "ann"), 20);
        q.add(job("a1", "ann"), 10);
        q.add(job("a3", "ann"), 20); // same time as a2: arrival breaks the tie
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("a1", "a2", "a3");
    }

    @Test
    void theUserWithLessUsageGoesFirstUntilCaughtUp() {
        FairShare fs = new FairShare();
        fs.charge("ann", 25, 0);
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 3; i++) q.add(job("a" + i, "ann"), i);
        for (int i = 1; i <= 4; i++) q.add(job("b" + i, "bob"), 10 + i);
        // bob (0 used) runs 10 each: after b1, b2 he has 20 < 25; after b3 30 > 25: ann's turn.
        assertThat(ids(q.order(fs, 0))).containsExactly("b1", "b2", "b3", "a1", "b4", "a2", "a3");
        assertThat(q.size()).as("order does not take anything").isEqualTo(7);
        assertThat(fs.usage("bob", 0)).as("nor charge anyone").isZero();
    }

    @Test
    void equalUsersTakeTurnsOldestFirst() {
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 3; i++) q.add(job("a" + i, "ann"), i);
        for (int i = 1; i <= 2; i++) q.add(job("b" + i, "bob"), 3 + i);
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("a1", "b1", "a2", "b2", "a3");
    }

    @Test
    void addRemoveContains() {
        LiveQueue q = new LiveQueue();
        assertThat(q.isEmpty()).isTrue();
        q.add(job("a1", "ann"), 1);
        q.add(job("b1", "bob"), 2);
        assertThatThrownBy(() -> q.add(job("a1", "ann"), 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("job a1 is already queued");
        assertThat(q.contains("a1")).isTrue();
        assertThat(q.remove("a1")).isTrue();
        assertThat(q.remove("a1")).isFalse();
        assertThat(q.contains("a1")).isFalse();
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("b1");
        assertThat(q.size()).isEqualTo(1);
    }

    // --- dispatch --------------------------------------------------------------

    @Test
    void eachJobGoesToItsBestHostAndTakesItsSlot() {
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 6; i++) q.add(job("j" + i, "ann"), i);
        List<HostView> hosts = List.of(host("fast").speed(8).slots(2).build(), host("slow").speed(2).slots(3).build(),
                host("dead").state("dead").speed(100).build());
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0);
        assertThat(placed(as)).containsExactly("j1@fast", "j2@fast", "j3@slow", "j4@slow", "j5@slow");
        assertThat(as.get(0).expectedSeconds()).isEqualTo(10.0 / 8);
        assertThat(ids(q.order(new FairShare(), 0))).as("no slot left for j6").containsExactly("j6");
    }

    @Test
    void theLastJobsWaitForAFastHostThatFinishesThemSoonerThanAFreeSlowOne() {
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 4; i++) q.add(JobRequest.of("j" + i, "ann").withWork(4).from("home"), i);
        // fast: 4 units/s, busy with one of ours for 1 more second; slow: 1 unit/s, free. One slot each.
        List<HostView> hosts = List.of(host("fast").cores(1).slots(1).guests(1).speed(4).build(),
                host("slow").cores(1).slots(1).speed(1).build());
        LiveQueue same = new LiveQueue();
        for (int i = 1; i <= 4; i++) same.add(JobRequest.of("j" + i, "ann").withWork(4).from("home"), i);
        List<Assignment> greedy = same.dispatch(hosts, new FairShare(), 0);
        assertThat(placed(greedy)).as("without the busy host's release times: the free slot").containsExactly("j1@slow");
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0, Map.of("fast", new double[] {1.0}));
        // j1 on fast ends at 1 + 1 = 2 s, j2 at 3 s (after j1), both under 0.9 × 4 s on slow: they wait.
        // j3 would end at 4 s on fast: not soon enough, so it starts on slow now.
        assertThat(placed(as)).containsExactly("j3@slow");
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("j1", "j2", "j4");
    }

    @Test
    void noWaitingForAHostTheJobCannotUseOrThatIsNotAlive() {
        List<HostView> hosts = List.of(host("fast").cores(1).slots(1).guests(1).speed(4).build(),
                host("gone").state("dead").cores(1).slots(1).guests(1).speed(100).build(),
                host("slow").cores(1).slots(1).speed(1).build());
        Map<String, double[]> busy = Map.of("fast", new double[] {1.0}, "gone", new double[] {0.0});
        LiveQueue q = new LiveQueue();
        q.add(JobRequest.of("p", "ann").withWork(4).from("home").pinnedTo("slow"), 1);
        assertThat(placed(q.dispatch(hosts, new FairShare(), 0, busy))).containsExactly("p@slow");
        // A dead host's slot never frees: nothing waits for it, however fast it was.
        LiveQueue q2 = new LiveQueue();
        q2.add(JobRequest.of("u", "ann").withWork(4).from("home"), 1);
        assertThat(placed(q2.dispatch(List.of(hosts.get(1), hosts.get(2)), new FairShare(), 0, busy))).containsExactly("u@slow");
    }

    @Test
    void busyHostsAreSentJobsAheadOnlyAsFarAsAllowedAndInTheOrderTheyWouldFinishThem() {
        // Two full hosts of two slots running jobs of this home; nothing is free.
        List<HostView> hosts = List.of(host("a").cores(2).slots(2).guests(2).build(), host("b").cores(2).slots(2).guests(2).build());
        double c = Placement.expectedSeconds(JobRequest.of("x", "ann").from("home"), hosts.get(0).withGuestJobs(1), 1);
        Map<String, double[]> busy = Map.of("a", new double[] {0.2 * c, 0.1 * c}, "b", new double[] {0.15 * c, 0.5 * c});
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 6; i++) q.add(JobRequest.of("j" + i, "ann").from("home"), i);
        assertThat(q.dispatch(hosts, new FairShare(), 0, busy)).as("not allowed: every job waits at home").isEmpty();

        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0, busy, Map.of("a", 2, "b", 1));
        // j1 ends soonest after a's slot at 0.1c, j2 after b's at 0.15c (a's next is j1's end at 1.1c),
        // j3 after a's at 0.2c; b has no more allowed ahead, so nothing else goes.
        assertThat(placed(as)).containsExactly("j1@a", "j2@b", "j3@a");
        assertThat(as).allMatch(Assignment::ahead);
        assertThat(as.get(0).expectedSeconds()).as("waiting for the slot, then its compute").isEqualTo(0.1 * c + c);
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("j4", "j5", "j6");
    }

    @Test
    void aJobWaitingOnItsHostTakesTheSoonestRunningJobsSlotInsteadOfAddingOne() {
        assertThat(LiveQueue.slotReleases(new double[] {5, 1}, new double[] {3})).containsExactly(3, 5);
        assertThat(LiveQueue.slotReleases(new double[] {5, 1}, new double[0])).containsExactly(1, 5);
        // More waiting than this home's running jobs there: they wait for other homes' slots, and still free one each.
        assertThat(LiveQueue.slotReleases(new double[] {2}, new double[] {4, 3})).containsExactly(3, 4);
        assertThat(LiveQueue.slotReleases(new double[0], new double[] {4})).containsExactly(4);

        // A full host of two slots: jobs ending at 0.1c and 2c, and one sent ahead (ending at 1.1c) holds the first.
        List<HostView> hosts = List.of(host("a").cores(2).slots(2).guests(2).build());
        double c = Placement.expectedSeconds(JobRequest.of("x", "ann").from("home"), hosts.get(0).withGuestJobs(1), 1);
        LiveQueue q = new LiveQueue();
        q.add(JobRequest.of("j1", "ann").from("home"), 1);
        Map<String, double[]> busy = Map.of("a", LiveQueue.slotReleases(new double[] {0.1 * c, 2 * c}, new double[] {1.1 * c}));
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0, busy, Map.of("a", 1));
        assertThat(as.get(0).expectedSeconds()).as("after the waiting job's end, not the slot it took").isEqualTo(1.1 * c + c);
    }

    @Test
    void aFreeSlotIsUsedBeforeAnythingIsSentAheadAndAJobWithInputsWaitsAtHome() {
        List<HostView> hosts = List.of(host("a").cores(2).slots(2).guests(1).build());
        LiveQueue q = new LiveQueue();
        q.add(JobRequest.of("j1", "ann").withWork(0.01).from("home"), 1);
        q.add(JobRequest.of("files", "ann").withWork(0.01).from("home").withInput(1000), 2);
        q.add(JobRequest.of("j3", "ann").withWork(0.01).from("home"), 3);
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0, Map.of("a", new double[] {0.5}), Map.of("a", 5));
        assertThat(placed(as)).containsExactly("j1@a", "j3@a");
        assertThat(as.get(0).ahead()).as("the free slot: started at once").isFalse();
        assertThat(as.get(1).ahead()).isTrue();
        assertThat(ids(q.order(new FairShare(), 0))).as("held for the busy slot, its inputs not sent ahead").containsExactly("files");
    }

    @Test
    void memoryAndCpusAreTakenToo() {
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 3; i++) q.add(job("m" + i, "ann").withMem(4 * G), i);
        for (int i = 1; i <= 3; i++) q.add(job("c" + i, "bob").withCpus(2), i);
        // 12G free - 819.2M reserve: two 4G jobs fit, not three. 4 guest CPUs: at most two 2-CPU jobs, fewer with
        // the 1-CPU memory jobs there.
        HostView h = host("h").cores(4).slots(8).memFree(12 * G).memTotal(16 * G).build();
        List<Assignment> as = q.dispatch(List.of(h), new FairShare(), 0);
        assertThat(placed(as)).containsExactly("m1@h", "c1@h", "m2@h");
        assertThat(ids(q.order(new FairShare(), 0))).containsExactlyInAnyOrder("m3", "c2", "c3");
    }

    @Test
    void aJobThatFitsNowhereStaysAndDoesNotBlockOthers() {
        LiveQueue q = new LiveQueue();
        q.add(job("huge", "ann").withMem(64 * G), 1);
        q.add(job("pinned", "ann").pinnedTo("b"), 2);
        q.add(job("small", "ann"), 3);
        List<Assignment> as = q.dispatch(List.of(host("a").speed(9).build(), host("b").speed(1).build()), new FairShare(), 0);
        assertThat(placed(as)).containsExactly("pinned@b", "small@a");
        assertThat(q.contains("huge")).isTrue();
        assertThat(q.size()).isEqualTo(1);
    }

    @Test
    void aRefusedJobComesBackInItsPlace() {
        LiveQueue q = new LiveQueue();
        q.add(job("a1", "ann"), 1);
        q.add(job("a2", "ann"), 2);
        Assignment first = q.dispatch(List.of(host("h").slots(1).build()), new FairShare(), 0).get(0);
        assertThat(first.job().id()).isEqualTo("a1");
        q.add(first.job(), 1); // the host refused: back with its submission time
        assertThat(ids(q.order(new FairShare(), 0))).containsExactly("a1", "a2");
    }

    @Test
    void nothingToDoWhenNoSlotIsFree() {
        LiveQueue q = new LiveQueue();
        q.add(job("a1", "ann"), 1);
        assertThat(q.dispatch(List.of(host("h").slots(2).guests(2).build()), new FairShare(), 0)).isEmpty();
        assertThat(q.dispatch(List.of(), new FairShare(), 0)).isEmpty();
        assertThat(new LiveQueue().dispatch(List.of(host("h").build()), new FairShare(), 0)).isEmpty();
        assertThat(q.size()).isEqualTo(1);
    }

    @Test
    void fairShareDecidesWhoGetsTheLastSlots() {
        FairShare fs = new FairShare();
        fs.charge("ann", 3600, 0);
        LiveQueue q = new LiveQueue();
        for (int i = 1; i <= 4; i++) q.add(job("a" + i, "ann"), i);
        for (int i = 1; i <= 4; i++) q.add(job("b" + i, "bob"), 10 + i);
        List<Assignment> as = q.dispatch(List.of(host("h").slots(3).build()), fs, 0);
        assertThat(ids(as.stream().map(Assignment::job).toList())).containsExactly("b1", "b2", "b3");
    }

    @Test
    void aLargeRoundStaysWithinEveryHost() {
        LiveQueue q = new LiveQueue();
        for (int i = 0; i < 2000; i++) {
            q.add(JobRequest.of("j" + i, "u" + (i % 7)).withCpus(1 + i % 3).withMem((i % 5) * G).from("n0"), i);
        }
        List<HostView> hosts = new ArrayList<>();
        for (int n = 0; n < 50; n++) {
            hosts.add(host("n" + n).cores(4 + n % 13).speed(1 + n % 7).load(n % 5).slots(1 + n % 9).guests(n % 2)
                    .memFree((4 + n % 29) * G).memTotal(64 * G).build());
        }
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0);
        assertThat(as).isNotEmpty();
        assertWithinCapacity(hosts, as);
        assertThat(q.size()).isEqualTo(2000 - as.size());
    }

    @Test
    void aHostNotTakingGuestsIsSkippedAndTheJobWaitsUntilOneDoes() {
        HostView fastButLocked = host("fast").speed(50).closed("locked (backup)").build();
        HostView slow = host("slow").speed(1).build();
        LiveQueue q = new LiveQueue();
        q.add(job("j1", "ann"), 0);
        assertThat(placed(q.dispatch(List.of(fastButLocked, slow), new FairShare(), 0))).containsExactly("j1@slow");

        q.add(job("j2", "ann"), 1);
        assertThat(q.dispatch(List.of(fastButLocked, host("slow").slots(0).build()), new FairShare(), 0)).isEmpty();
        assertThat(q.contains("j2")).as("waits, not failed").isTrue();
        // The owner unlocks: the next round (the home runs one on every gossip receipt) places it.
        assertThat(placed(q.dispatch(List.of(host("fast").speed(50).build()), new FairShare(), 0))).containsExactly("j2@fast");

        // The home owner's own job still runs at home while the home takes no guests.
        LiveQueue own = new LiveQueue();
        own.add(job("j3", "root").from("fast").ownedAtHome(true), 0);
        own.add(job("j4", "ann").from("fast"), 0);
        assertThat(placed(own.dispatch(List.of(fastButLocked), new FairShare(), 0))).containsExactly("j3@fast");
    }

    @Test
    void aJobRefusedByAHostsPolicyGoesElsewhereUntilThatPolicyChanges() {
        HostView best = host("best").speed(50).stamp(7).build();
        HostView other = host("other").speed(1).stamp(3).build();
        LiveQueue q = new LiveQueue();
        q.add(job("j1", "mallory").refusedBy("best", 7), 0);
        assertThat(placed(q.dispatch(List.of(best, other), new FairShare(), 0))).containsExactly("j1@other");
        q.add(job("j2", "mallory").refusedBy("best", 7), 0);
        assertThat(placed(q.dispatch(List.of(best), new FairShare(), 0))).isEmpty();
        // A new policy there (another stamp): worth asking again.
        assertThat(placed(q.dispatch(List.of(host("best").speed(50).stamp(8).build()), new FairShare(), 0)))
                .containsExactly("j2@best");
    }

    // --- properties ------------------------------------------------------------

    record Submitted(JobRequest job, long at) {
    }

    @Property(tries = 300)
    void oneRoundNeverOverbooksAHost(@ForAll("hostLists") List<HostView> hosts, @ForAll("jobLists") List<Submitted> jobs) {
        LiveQueue q = new LiveQueue();
        jobs.forEach(s -> q.add(s.job, s.at));
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0);
        assertWithinCapacity(hosts, as);
        assertThat(q.size()).isEqualTo(jobs.size() - as.size());
        for (Assignment a : as) assertThat(q.contains(a.job().id())).isFalse();
    }

    @Property(tries = 300)
    void aUsersJobsGoOutInSubmissionOrder(@ForAll("hostLists") List<HostView> hosts, @ForAll("jobLists") List<Submitted> jobs) {
        Map<String, Long> at = new HashMap<>();
        jobs.forEach(s -> at.put(s.job.id(), s.at * 10_000 + Integer.parseInt(s.job.id().substring(1))));
        LiveQueue q = new LiveQueue();
        jobs.forEach(s -> q.add(s.job, s.at));
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0);
        Map<String, Long> last = new HashMap<>();
        for (Assignment a : as) {
            long mine = at.get(a.job().id());
            Long before = last.put(a.job().user(), mine);
            if (before != null) assertThat(mine).isGreaterThan(before);
        }
        // And the order() view agrees: FIFO per user.
        last.clear();
        for (JobRequest j : q.order(new FairShare(), 0)) {
            long mine = at.get(j.id());
            Long before = last.put(j.user(), mine);
            if (before != null) assertThat(mine).isGreaterThan(before);
        }
    }

    @Property(tries = 300)
    void whatStaysQueuedFitsNowhereAfterTheRound(@ForAll("hostLists") List<HostView> hosts,
                                                 @ForAll("jobLists") List<Submitted> jobs) {
        LiveQueue q = new LiveQueue();
        jobs.forEach(s -> q.add(s.job, s.at));
        List<Assignment> as = q.dispatch(hosts, new FairShare(), 0);
        Map<String, HostView> after = new HashMap<>();
        Map<String, Integer> cpus = new HashMap<>();
        for (HostView h : hosts) {
            after.put(h.name(), h);
            cpus.put(h.name(), h.guestJobs());
        }
        for (Assignment a : as) {
            after.computeIfPresent(a.host(), (n, h) -> h.plusGuest(a.job().cpus(), a.job().memBytes()));
            cpus.merge(a.host(), a.job().cpus(), Integer::sum);
        }
        for (JobRequest left : q.order(new FairShare(), 0)) {
            for (HostView h : after.values()) {
                if (Feasibility.reason(left, h, cpus.get(h.name())) == null) {
                    throw new AssertionError(left + " stayed queued but fits " + h);
                }
            }
        }
    }

    @Property(tries = 200)
    void theFastFeasibilityCheckAgreesWithTheFilterChain(@ForAll("hostLists") List<HostView> hosts,
                                                         @ForAll("jobLists") List<Submitted> jobs) {
        for (Submitted s : jobs) {
            for (HostView h : hosts) {
                for (int guestCpus = h.guestJobs(); guestCpus <= h.guestJobs() + 4; guestCpus += 2) {
                    boolean fits = Feasibility.fits(s.job, h, guestCpus);
                    if (fits != (Feasibility.reason(s.job, h, guestCpus) == null)) {
                        throw new AssertionError(s.job + " on " + h + " with " + guestCpus + " guest CPUs: fits=" + fits);
                    }
                }
            }
        }
    }

    static void assertWithinCapacity(List<HostView> hosts, List<Assignment> as) {
        for (HostView h : hosts) {
            List<JobRequest> mine = as.stream().filter(a -> a.host().equals(h.name())).map(Assignment::job).toList();
            if (mine.isEmpty()) continue;
            assertThat(h.state()).isEqualTo("alive");
            assertThat(mine.size()).as("slots of " + h.name()).isLessThanOrEqualTo(h.freeSlots());
            int cpus = mine.stream().mapToInt(JobRequest::cpus).sum();
            assertThat(h.guestJobs() + cpus).as("guest CPUs of " + h.name()).isLessThanOrEqualTo(h.guestCpuLimit());
            long mem = mine.stream().mapToLong(JobRequest::memBytes).sum();
            assertThat(mem).as("memory of " + h.name())
                    .isLessThanOrEqualTo(Math.max(0, h.memFreeBytes() - Feasibility.reserveBytes(h.memTotalBytes())));
            for (JobRequest j : mine) {
                assertThat(j.pinnedNode() == null || j.pinnedNode().equals(h.name())).isTrue();
                assertThat(h.acceptsGuests() || j.homeOwner() && h.name().equals(j.homeNode()))
                        .as(j + " given to " + h.name() + ", which takes no guests").isTrue();
                assertThat(j.refusedUnder(h.name(), h.policyStamp())).as(j + " given back to the host that refused it").isFalse();
                assertThat(h.programs()).containsAll(j.needs());
                assertThat(j.cpus()).isLessThanOrEqualTo(h.cores());
            }
        }
    }

    @Provide
    Arbitrary<List<HostView>> hostLists() {
        var shape = Combinators.combine(Arbitraries.of("alive", "alive", "alive", "suspect", "dead"),
                Arbitraries.integers().between(1, 8), Arbitraries.doubles().between(0.5, 8),
                Arbitraries.doubles().between(0, 6), Arbitraries.of(0.0, 0.5, 1.0, 2.5));
        var room = Combinators.combine(Arbitraries.integers().between(0, 6), Arbitraries.integers().between(0, 3),
                Arbitraries.longs().between(0, 24), Arbitraries.of(Set.of("sh"), Set.of("sh", "povray")),
                Arbitraries.of(true, false), Arbitraries.of("", "", "", "locked (backup)"), Arbitraries.of(0L, 7L));
        Arbitrary<HostView> one = Combinators.combine(shape.as(List::of), room.as(List::of)).as((s, r) -> {
            long memFree = (Long) r.get(2) * G;
            Hosts h = host("x").state((String) s.get(0)).cores((Integer) s.get(1)).speed((Double) s.get(2))
                    .load((Double) s.get(3)).share((Double) s.get(4)).slots((Integer) r.get(0))
                    .guests((Integer) r.get(1)).memFree(memFree).memTotal(Math.max(memFree, 16 * G))
                    .programs(((Set<?>) r.get(3)).toArray(String[]::new));
            if ((Boolean) r.get(4)) h.label("fast");
            return h.closed((String) r.get(5)).stamp((Long) r.get(6)).build();
        });
        return one.list().ofMinSize(1).ofMaxSize(8).map(list -> {
            List<HostView> named = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) named.add(Hosts.from(list.get(i)).name("n" + i).build());
            return named;
        });
    }

    @Provide
    Arbitrary<List<Submitted>> jobLists() {
        Arbitrary<Constraint> constraints = Arbitraries.of(Constraint.ALWAYS, Constraint.ALWAYS,
                Constraint.parse("label==fast"), Constraint.parse("cores>=4 || speed>4"), Constraint.parse("slots>=2"),
                Constraint.parse("mem>=2G"));
        var shape = Combinators.combine(Arbitraries.of("ann", "bob", "cy"), Arbitraries.integers().between(1, 4),
                Arbitraries.of(0L, G, 4 * G, 16 * G), constraints, Arbitraries.of(Set.<String>of(), Set.of("povray")),
                Arbitraries.of(null, "n0", "n1"), Arbitraries.longs().between(0, 5), Arbitraries.doubles().between(0.1, 100));
        Arbitrary<Submitted> base = shape.as((user, cpus, mem, c, needs, pin, at, work) -> new Submitted(
                new JobRequest("x", user, cpus, mem, c, needs, 0, work, pin, "n0"), at));
        // Some are the home owner's (not guests at n0), some were refused by n1's policy stamp 7.
        Arbitrary<Submitted> one = Combinators.combine(base, Arbitraries.of(false, true), Arbitraries.of(false, false, true))
                .as((sub, owner, refused) -> {
                    JobRequest j = sub.job.ownedAtHome(owner);
                    return new Submitted(refused ? j.refusedBy("n1", 7) : j, sub.at);
                });
        return one.list().ofMaxSize(40).map(list -> {
            List<Submitted> named = new ArrayList<>();
            for (int i = 0; i < list.size(); i++) {
                JobRequest j = list.get(i).job;
                named.add(new Submitted(new JobRequest("j" + i, j.user(), j.cpus(), j.memBytes(), j.constraint(), j.needs(),
                        j.inputBytes(), j.work(), j.pinnedNode(), j.homeNode(), j.homeOwner(), j.refusedBy()), list.get(i).at));
            }
            return named;
        });
    }
}
