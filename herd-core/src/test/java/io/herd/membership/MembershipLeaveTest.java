package io.herd.membership;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.herd.security.TestPki;
import io.herd.security.TlsContexts;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leaving node's notice reaches every member before the node leaves their
 * view: a member drops messages from a sender no longer in its view, and the
 * view without the leaver comes from the coordinator, not from the leaver, so
 * without waiting the others could see the node gone without its notice and
 * show it dead instead of left.
 */
class MembershipLeaveTest {
    @TempDir Path tmp;
    private final List<Membership> started = new ArrayList<>();

    /** What one member's listener saw. */
    static final class Seen implements Membership.Listener {
        final List<String> notices = new CopyOnWriteArrayList<>();
        volatile List<String> view = List.of();

        @Override
        public void viewChanged(List<String> members) {
            view = members;
        }

        @Override
        public void received(Membership.Kind kind, String from, byte[] payload) {
            if (kind == Membership.Kind.NOTICE) notices.add(from + ":" + new String(payload));
        }
    }

    @AfterEach
    void stop() {
        started.forEach(Membership::close);
    }

    @Test
    void aLeaveNoticeIsDeliveredToEveryMemberBeforeTheSendReturns() throws Exception {
        try (TestPki pki = TestPki.create(tmp, "lab")) {
            List<Seen> seen = form(pki, List.of("a", "b", "c"));

            for (int round = 0; round < 5; round++) {
                String text = "leaving-" + round;
                assertThat(started.get(2).broadcastAndWait(Membership.Kind.NOTICE, text.getBytes())).isTrue();
                // No waiting here: the send returned only once both had it.
                assertThat(seen.get(0).notices).contains("c:" + text);
                assertThat(seen.get(1).notices).contains("c:" + text);
            }
        }
    }

    /**
     * A member that stops answering (hung, or its network gone) cannot hold a leaving node for
     * ever: the wait ends after {@link Membership#LEAVE_ACK_TIMEOUT_MILLIS} and says that not
     * everyone has the notice.
     */
    @Test
    void aMemberThatNeverAcknowledgesEndsTheWaitAfterTheTimeoutAndTheCallerIsTold() throws Exception {
        try (TestPki pki = TestPki.create(tmp, "lab")) {
            List<Seen> seen = form(pki, List.of("a", "b"));
            // b goes deaf: everything that reaches it is dropped, so it never acknowledges.
            started.get(1).channel().getProtocolStack().insertProtocol(new org.jgroups.protocols.DISCARD().setUpDiscardRate(1),
                    org.jgroups.stack.ProtocolStack.Position.ABOVE, Membership.HerdTcp.class);
            long t0 = System.nanoTime();
            assertThat(started.get(0).broadcastAndWait(Membership.Kind.NOTICE, "leaving".getBytes())).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(
                    Duration.ofMillis(Membership.LEAVE_ACK_TIMEOUT_MILLIS - 100));
            assertThat(seen.get(1).notices).isEmpty();
        }
    }

    @Test
    void withNoChannelNothingIsSentAndTheCallerIsTold() {
        Membership m = new Membership("a", "lab", InetAddress.getLoopbackAddress(), 1, null,
                Membership.Settings.defaults(), new Seen());
        assertThat(m.broadcastAndWait(Membership.Kind.NOTICE, new byte[] {1})).isFalse();
    }

    /** Starts one member per name on loopback (each with its own certificate) and waits until all see all. */
    private List<Seen> form(TestPki pki, List<String> names) throws Exception {
        InetAddress lo = InetAddress.getLoopbackAddress();
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) ports.add(freePort());
        List<InetSocketAddress> hosts = ports.stream().map(p -> new InetSocketAddress(lo, p)).toList();
        List<Seen> seen = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Seen s = new Seen();
            seen.add(s);
            Membership m = new Membership(names.get(i), "lab", lo, ports.get(i),
                    TlsContexts.jdk(pki.join(names.get(i)), pki.revocations(names.get(i))),
                    Membership.Settings.defaults(), s);
            m.start(hosts);
            started.add(m);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> seen.stream().allMatch(s -> s.view.size() == names.size()));
        return seen;
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
