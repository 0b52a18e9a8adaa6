package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.membership.NodeView;
import io.herd.scheduler.Constraint;
import io.herd.scheduler.HostView;
import io.herd.scheduler.JobRequest;
import io.herd.scheduler.Placement;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Gossiped labels and guest CPU caps, as placement sees them. */
class HostViewsTest {

    private static NodeView node(String name, double speed, List<String> labels, double guestCpus, int guests) {
        return new NodeView(name, "10.0.0.1:7700", "alive", 4, speed, guests, 0, 8L << 30, 16L << 30, 0, 0, 600, false,
                guests, 4, "nice", "0.1", 0.2, false, labels, guestCpus);
    }

    @Test
    void theOwnersMemoryReserveReachesPlacement() {
        var map = new io.herd.membership.ClusterMap("a", 5000);
        map.viewChanged(List.of("a", "b"));
        map.learned(new io.herd.gossip.LoadVector("b", "10.0.0.2:7700", 1, 1, 4, 1, 0, 0, 16L << 30, 14L << 30, 0, 0,
                600, false, 4, 0, "nice", "0.1", false, List.of(), 0)
                .withGuests(new io.herd.gossip.GuestAccess("", "", 7, 8L << 30)), 0);
        NodeView b = map.snapshot(0).stream().filter(n -> n.name().equals("b")).findFirst().orElseThrow();
        HostView h = HostViews.of(b);
        assertThat(h.memReserveBytes()).isEqualTo(8L << 30);
        var plan = Placement.rank(JobRequest.of("j", "ann").withMem(10L << 30), List.of(h));
        assertThat(plan.ranked()).isEmpty();
        assertThat(plan.rejected().get("b")).startsWith("mem: needs 10.0G, has 14.0G free and keeps 8.0G in reserve");
    }

    @Test
    void labelsReachTheConstraintLanguage() {
        HostView fast = HostViews.of(node("b", 1, List.of("fast", "gpu.a100"), 0, 0));
        HostView plain = HostViews.of(node("a", 1, List.of(), 0, 0));
        Constraint on = Constraint.parse("label==fast");
        assertThat(on.test(fast)).isTrue();
        assertThat(on.test(plain)).isFalse();
        assertThat(Constraint.parse("label!=fast").test(plain)).isTrue();
        assertThat(Constraint.parse("label!=fast").test(fast)).isFalse();
        assertThat(Constraint.parse("label==gpu.a100 && label!=slow").test(fast)).isTrue();
    }

    private static String best(JobRequest job, HostView... hosts) {
        var plan = Placement.rank(job, List.of(hosts));
        assertThat(plan.rejected()).as("all feasible").isEmpty();
        return plan.ranked().get(0).host();
    }

    @Test
    void aGuestCpuCapReachesPlacement() {
        JobRequest job = JobRequest.of("j1", "ann").withWork(10).from("home");
        HostView capped = HostViews.of(node("capped", 3, List.of(), 0.4, 0));
        assertThat(capped.guestCpuShare()).isEqualTo(0.4);
        HostView slower = HostViews.of(node("slower", 2, List.of(), 0, 0));
        // Uncapped, speed 3 beats speed 2 (3.3 s against 5 s); capped at 0.4 cores it takes 10 / (3 × 0.4) = 8.3 s.
        assertThat(best(job, HostViews.of(node("capped", 3, List.of(), 0, 0)), slower)).isEqualTo("capped");
        assertThat(best(job, capped, slower)).isEqualTo("slower");

        // A cap of 2.4 cores: alone a guest gets a whole core (3.3 s, ahead of speed 2.9's 3.4 s);
        // with two guests there already the three share 2.4 cores (10 / (3 × 0.8) = 4.2 s).
        HostView plain = HostViews.of(node("plain", 2.9, List.of(), 0, 0));
        assertThat(best(job, HostViews.of(node("capped", 3, List.of(), 2.4, 0)), plain)).isEqualTo("capped");
        assertThat(best(job, HostViews.of(node("capped", 3, List.of(), 2.4, 2)), plain)).isEqualTo("plain");
    }
}
