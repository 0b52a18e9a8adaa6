package io.herd.membership;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.security.TestPki;
import io.herd.security.TlsContexts;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first node of a new cluster knows no peer: its discovery could get no answer, so it does
 * not wait one out. Nodes that know peers wait the configured time, and still find the first.
 */
class MembershipJoinTest {
    @TempDir Path tmp;
    private final List<Membership> started = new ArrayList<>();
    private static final InetAddress LO = InetAddress.getLoopbackAddress();

    @AfterEach
    void stop() {
        started.forEach(Membership::close);
    }

    @Test
    void onlyANodeThatKnowsNoPeerSkipsTheDiscoveryWait() {
        InetSocketAddress self = new InetSocketAddress(LO, 7001);
        InetSocketAddress peer = new InetSocketAddress(LO, 7003);
        Membership.Settings s = Membership.Settings.defaults();
        assertThat(Membership.joinTimeoutMillis(List.of(self), self, s)).isEqualTo(Membership.ALONE_JOIN_TIMEOUT_MILLIS);
        assertThat(Membership.joinTimeoutMillis(List.of(peer, self), self, s)).isEqualTo(s.joinTimeoutMillis());
        assertThat(Membership.joinTimeoutMillis(List.of(peer), self, s)).isEqualTo(s.joinTimeoutMillis());
        Membership.Settings quick = new Membership.Settings(1000, 5000, 1000, 50);
        assertThat(Membership.joinTimeoutMillis(List.of(self), self, quick)).as("never longer than configured").isEqualTo(50);
    }

    @Test
    void theFirstNodeStartsAloneAndANodeThatKnowsItJoinsIt() throws Exception {
        try (TestPki pki = TestPki.create(tmp, "lab")) {
            int pa = MembershipLeaveTest.freePort();
            int pb = MembershipLeaveTest.freePort();
            MembershipLeaveTest.Seen a = start(pki, "a", pa, List.of());
            await().atMost(Duration.ofSeconds(10)).until(() -> a.view.equals(List.of("a")));
            MembershipLeaveTest.Seen b = start(pki, "b", pb, List.of(new InetSocketAddress(LO, pa)));
            // b finds a by its discovery, or (on a slow machine, its discovery timed out) merges with it later:
            // either way one view of both. Who coordinates then is JGroups' choice.
            await().atMost(Duration.ofSeconds(20)).until(() -> a.view.size() == 2 && b.view.size() == 2);
            assertThat(b.view).containsExactlyInAnyOrderElementsOf(a.view).containsExactlyInAnyOrder("a", "b");
        }
    }

    private MembershipLeaveTest.Seen start(TestPki pki, String name, int port, List<InetSocketAddress> peers) throws Exception {
        MembershipLeaveTest.Seen seen = new MembershipLeaveTest.Seen();
        Membership m = new Membership(name, "lab", LO, port, TlsContexts.jdk(pki.join(name), pki.revocations(name)),
                Membership.Settings.defaults(), seen);
        m.start(peers);
        started.add(m);
        return seen;
    }
}
