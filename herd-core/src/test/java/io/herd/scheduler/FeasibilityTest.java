package io.herd.scheduler;

import org.junit.jupiter.api.Test;

import java.util.Optional;
import java.util.Set;

import static io.herd.scheduler.Hosts.G;
import static io.herd.scheduler.Hosts.M;
import static io.herd.scheduler.Hosts.host;
import static org.assertj.core.api.Assertions.assertThat;

class FeasibilityTest {

    static final JobRequest JOB = JobRequest.of("j1", "ann");

    static Optional<String> check(JobRequest job, Hosts h) {
        return Feasibility.check(job, h.build());
    }

    @Test
    void anIdleNodeRunsAPlainJob() {
        assertThat(check(JOB, host("a"))).isEmpty();
    }

    @Test
    void filtersRunInTheDocumentedOrder() {
        assertThat(Feasibility.filters()).containsExactly("state", "pinned", "guests", "policy", "slots", "cpus", "mem", "needs",
                "constraint");
        // Fails everything: the first filter speaks. (Hosts is a mutable builder: each line fixes one more thing.)
        Hosts bad = host("a").state("dead").slots(0).cores(1).memFree(0).programs();
        JobRequest greedy = JOB.withCpus(4).withMem(G).withNeeds(Set.of("povray")).pinnedTo("b")
                .withConstraint(Constraint.parse("label==fast"));
        assertThat(check(greedy, bad)).contains("state: node is dead");
        assertThat(check(greedy, bad.state("alive"))).contains("pinned: job runs only on b");
        greedy = greedy.pinnedTo("a");
        assertThat(check(greedy, bad)).contains("slots: node takes no guests");
        assertThat(check(greedy, bad.slots(1))).contains("cpus: needs 4, node has 1 core");
        greedy = greedy.withCpus(1);
        assertThat(check(greedy, bad)).contains("mem: needs 1.0G, has 0B free");
        assertThat(check(greedy, bad.memFree(8 * G))).contains("needs: povray not installed");
        assertThat(check(greedy, bad.programs("povray"))).contains("constraint: label==fast is false (no label fast)");
        assertThat(check(greedy, bad.label("fast"))).isEmpty();
    }

    @Test
    void state() {
        assertThat(check(JOB, host("a").state("suspect"))).contains("state: node is suspect");
        assertThat(check(JOB, host("a").state("leaving"))).contains("state: node is leaving");
        assertThat(Feasibility.neverReason(JOB, host("a").state("suspect").build())).isNull();
        assertThat(Feasibility.neverReason(JOB, host("a").state("dead").build())).as("may come back").isNull();
        assertThat(Feasibility.neverReason(JOB, host("a").state("left").build())).isEqualTo("state: node has left the cluster");
        assertThat(Feasibility.neverReason(JOB, host("a").state("leaving").build()))
                .isEqualTo("state: node is leaving the cluster");
    }

    @Test
    void pinned() {
        assertThat(check(JOB.pinnedTo("a"), host("a"))).isEmpty();
        assertThat(check(JOB.pinnedTo("b"), host("a"))).contains("pinned: job runs only on b");
    }

    @Test
    void guestsOnlyWhereTheOwnerTakesThemNowButTheJobJustWaits() {
        Hosts locked = host("a").closed("locked (backup running)");
        assertThat(check(JOB, locked)).contains("guests: node takes none now: locked (backup running)");
        assertThat(Feasibility.neverReason(JOB, locked.build())).as("the owner may unlock").isNull();
        assertThat(check(JOB, host("a").closed("window (next opens Mon 19:00)")))
                .contains("guests: node takes none now: window (next opens Mon 19:00)");
        // The home owner's own job at home is no guest there; elsewhere, or another user's, it is.
        JobRequest own = JOB.from("a").ownedAtHome(true);
        assertThat(check(own, locked)).isEmpty();
        assertThat(check(own, host("b").closed("never"))).contains("guests: node takes none now: never");
        assertThat(check(JOB.from("a"), locked)).isPresent();
    }

    @Test
    void policyRefusalHoldsUntilTheStampChanges() {
        JobRequest refused = JOB.refusedBy("a", 42);
        assertThat(check(refused, host("a").stamp(42))).contains("policy: its owner's policy refused this job");
        assertThat(check(refused, host("a").stamp(43))).isEmpty();
        assertThat(check(refused, host("b").stamp(42))).isEmpty();
        assertThat(Feasibility.neverReason(refused, host("a").stamp(42).build())).isNull();
        assertThat(refused.withCpus(2).refusedBy()).as("kept through copies").containsEntry("a", 42L);
    }

    @Test
    void slots() {
        assertThat(check(JOB, host("a").slots(4).guests(3))).isEmpty();
        assertThat(check(JOB, host("a").slots(4).guests(4))).contains("slots: all 4 guest slots busy");
        assertThat(check(JOB, host("a").slots(1).guests(1))).contains("slots: all 1 guest slot busy");
        assertThat(check(JOB, host("a").slots(0))).contains("slots: node takes no guests");
        assertThat(Feasibility.neverReason(JOB, host("a").slots(4).guests(4).build())).isNull();
    }

    @Test
    void cpus() {
        assertThat(check(JOB.withCpus(4), host("a").cores(4))).isEmpty();
        assertThat(check(JOB.withCpus(5), host("a").cores(4))).contains("cpus: needs 5, node has 4 cores");
        // A share is rounded up: half a core still runs a one-CPU job.
        assertThat(check(JOB, host("a").share(0.5))).isEmpty();
        assertThat(check(JOB.withCpus(2), host("a").share(0.5))).contains("cpus: needs 2, guests may use 0.5 of its 4 cores");
        assertThat(check(JOB.withCpus(2), host("a").share(1.5))).isEmpty();
        // Each running guest holds one CPU of the limit.
        assertThat(check(JOB.withCpus(2), host("a").cores(4).slots(8).guests(3)))
                .contains("cpus: needs 2, 1 of 4 guest CPUs free");
        assertThat(check(JOB, host("a").share(0.5).slots(4).guests(1))).contains("cpus: needs 1, 0 of 1 guest CPU free");
        assertThat(Feasibility.neverReason(JOB.withCpus(2), host("a").cores(4).slots(8).guests(3).build())).isNull();
    }

    @Test
    void memoryKeepsAReserve() {
        assertThat(Feasibility.reserveBytes(2 * G)).as("256 MiB at least").isEqualTo(256 * M);
        assertThat(Feasibility.reserveBytes(64 * G)).as("5%").isEqualTo((long) (64 * G * 0.05));
        assertThat(check(JOB, host("a").memFree(0))).as("no --mem, no memory filter").isEmpty();
        assertThat(check(JOB.withMem(8 * G), host("a").memFree((long) (3.2 * G)))).contains("mem: needs 8.0G, has 3.2G free");
        assertThat(check(JOB.withMem(3 * G), host("a").memFree((long) (3.2 * G)).memTotal(16 * G)))
                .contains("mem: needs 3.0G, has 3.2G free and keeps 819.2M in reserve");
        assertThat(check(JOB.withMem(2 * G), host("a").memFree((long) (3.2 * G)))).isEmpty();
        assertThat(Feasibility.neverReason(JOB.withMem(64 * G), host("a").memTotal((long) (23.5 * G)).build()))
                .isEqualTo("mem: needs 64.0G, node has 23.5G in total");
        assertThat(Feasibility.neverReason(JOB.withMem(16 * G), host("a").memTotal(16 * G).build()))
                .isEqualTo("mem: needs 16.0G, node has 16.0G in total and keeps 819.2M in reserve");
        assertThat(Feasibility.neverReason(JOB.withMem(8 * G), host("a").memFree(G).build())).isNull();
    }

    @Test
    void theOwnersGossipedReserveKeepsAJobOffANodeWhereItWouldPushTheOwnerOut() {
        // 16G of RAM, 14G free, the owner keeps 8G (owner-mem-reserve 50%): a 10G job would eat into it.
        Hosts lent = host("a").memTotal(16 * G).memFree(14 * G).ownerReserve(8 * G);
        assertThat(check(JOB.withMem(10 * G), lent)).contains("mem: needs 10.0G, has 14.0G free and keeps 8.0G in reserve");
        assertThat(check(JOB.withMem(6 * G), lent)).isEmpty();
        assertThat(Feasibility.neverReason(JOB.withMem(10 * G), lent.build()))
                .isEqualTo("mem: needs 10.0G, node has 16.0G in total and keeps 8.0G in reserve");
        // A reserve below placement's own minimum does not lower it.
        assertThat(host("a").memTotal(16 * G).ownerReserve(M).build().memReserveBytes()).isEqualTo(Feasibility.reserveBytes(16 * G));
        // fits(), which dispatch uses, agrees with check().
        assertThat(Feasibility.fits(JOB.withMem(10 * G), lent.build(), 0)).isFalse();
        assertThat(Feasibility.fits(JOB.withMem(6 * G), lent.build(), 0)).isTrue();
    }

    @Test
    void needs() {
        assertThat(check(JOB.withNeeds(Set.of("openssl")), host("a").programs("openssl", "sh"))).isEmpty();
        assertThat(check(JOB.withNeeds(Set.of("povray", "openssl", "gnuplot")), host("a").programs("openssl")))
                .contains("needs: gnuplot, povray not installed");
    }

    @Test
    void constraint() {
        JobRequest job = JOB.withConstraint(Constraint.parse("mem>=8G && speed>1.5"));
        assertThat(check(job, host("a").memFree(12 * G).speed(2))).isEmpty();
        assertThat(check(job, host("a").memFree(12 * G).speed(1.2))).contains("constraint: speed>1.5 is false (speed is 1.2)");
        assertThat(check(job, host("a").memFree(3 * G))).contains("constraint: mem>=8G is false (mem is 3.0G)");
        assertThat(check(JOB.withConstraint(Constraint.parse("gpu==a100")), host("a").label("gpu", "h100")))
                .contains("constraint: gpu==a100 is false (gpu is h100)");
        assertThat(check(JOB.withConstraint(Constraint.parse("cores>=8 || name==b")), host("a")))
                .contains("constraint: cores>=8 || name==b is false");
        // Free memory changes; physical memory and labels do not.
        assertThat(Feasibility.neverReason(job.withConstraint(Constraint.parse("mem>=8G")), host("a").memFree(G).build())).isNull();
        assertThat(Feasibility.neverReason(job.withConstraint(Constraint.parse("mem>=32G")), host("a").memFree(G).build()))
                .isEqualTo("constraint: mem>=32G is false (mem is 1.0G)");
        assertThat(Feasibility.neverReason(job.withConstraint(Constraint.parse("load<1")), host("a").load(3).build())).isNull();
        assertThat(Feasibility.neverReason(job.withConstraint(Constraint.parse("label==fast")), host("a").build()))
                .isEqualTo("constraint: label==fast is false (no label fast)");
    }

    @Test
    void jobDefaults() {
        JobRequest j = new JobRequest("j", "u", 1, 0, null, null, 0, 0, null, null);
        assertThat(j.constraint()).isSameAs(Constraint.ALWAYS);
        assertThat(j.needs()).isEmpty();
        assertThat(j.work()).isEqualTo(JobRequest.DEFAULT_WORK);
    }
}
