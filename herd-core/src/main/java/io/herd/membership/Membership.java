package io.herd.membership;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import org.jgroups.Address;
import org.jgroups.BytesMessage;
import org.jgroups.Event;
import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.PhysicalAddress;
import org.jgroups.Receiver;
import org.jgroups.View;
import org.jgroups.protocols.FD_ALL3;
import org.jgroups.protocols.FRAG4;
import org.jgroups.protocols.MERGE3;
import org.jgroups.protocols.RSVP;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.TCPPING;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.VERIFY_SUSPECT2;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.stack.Protocol;
import org.jgroups.util.NameCache;
import org.jgroups.util.TLSClientAuth;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster membership over JGroups: who is in the view, failure detection and
 * partition merge, plus a typed message channel for gossip and cluster-wide
 * notices. Every connection is TLS 1.3 with a client certificate required
 * ({@code client_auth=NEED}), so a peer without a certificate from this
 * cluster's CA never gets a byte through and never appears in a view.
 *
 * <p>Timing (defaults): heartbeats every 1 s, suspicion after 5 s of silence,
 * verified for 1 s, so a crashed node leaves every view in about 6-8 s.
 */
public final class Membership implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Membership.class);
    /** How long a leaving node waits for every member to have its leave notice. */
    static final long LEAVE_ACK_TIMEOUT_MILLIS = 2000;

    /** First byte of every application message. */
    public enum Kind { GOSSIP, NOTICE }

    public interface Listener {
        void viewChanged(List<String> members);

        void received(Kind kind, String from, byte[] payload);
    }

    public record Settings(long heartbeatMillis, long suspectAfterMillis, long verifyMillis, long joinTimeoutMillis) {
        public static Settings defaults() {
            return new Settings(1000, 5000, 1000, 1500);
        }
    }

    /** How long the discovery waits when the node knows no peer to ask. */
    static final long ALONE_JOIN_TIMEOUT_MILLIS = 100;

    private final String nodeName;
    private final String cluster;
    private final InetAddress bindAddress;
    private final int port;
    private final SSLContext tls;
    private final Settings settings;
    private final Listener listener;
    private final Map<String, Address> byName = new ConcurrentHashMap<>();
    private final AtomicLong appBytesSent = new AtomicLong();
    private volatile JChannel channel;
    private volatile View currentView;

    public Membership(String nodeName, String cluster, InetAddress bindAddress, int port, SSLContext tls,
                      Settings settings, Listener listener) {
        this.nodeName = nodeName;
        this.cluster = cluster;
        this.bindAddress = bindAddress;
        this.port = port;
        this.tls = tls;
        this.settings = settings;
        this.listener = listener;
    }

    /** Joins the cluster; {@code initialHosts} are the membership endpoints (host, port+1) of known peers. */
    public void start(Collection<InetSocketAddress> initialHosts) throws Exception {
        HerdTcp tcp = new HerdTcp();
        tcp.setBindAddress(bindAddress);
        tcp.setBindPort(port);
        tcp.setPortRange(0);
        tcp.disableDiagnostics();
        tcp.setSockConnTimeout(2000);
        tcp.tls().enabled(true).setSSLContext(tls).setClientAuth(TLSClientAuth.NEED)
                .setProtocols(new String[] {"TLSv1.3"});
        tcp.getMessageStats().enable(true);

        List<InetSocketAddress> hosts = new ArrayList<>(initialHosts);
        InetSocketAddress self = new InetSocketAddress(bindAddress, port);
        if (!hosts.contains(self)) hosts.add(self);
        TCPPING ping = new TCPPING();
        ping.setInitialHosts(hosts);
        ping.setPortRange(0);

        MERGE3 merge = new MERGE3().setMinInterval(2000).setMaxInterval(5000).setCheckInterval(6000);
        FD_ALL3 fd = new FD_ALL3();
        fd.setTimeout(settings.suspectAfterMillis());
        fd.setInterval(settings.heartbeatMillis());
        VERIFY_SUSPECT2 verify = new VERIFY_SUSPECT2().setTimeout(settings.verifyMillis());
        NAKACK2 nakack = new NAKACK2().useMcastXmit(false);
        GMS gms = new GMS().setJoinTimeout(joinTimeoutMillis(hosts, self, settings)).printLocalAddress(false);
        gms.setLeaveTimeout(1000);
        gms.setMaxJoinAttempts(3);

        // RSVP lets a leaving node wait until every member has its leave notice
        // before it leaves the view: a member drops messages from a sender that
        // is no longer in its view, and the new view comes from the coordinator.
        RSVP rsvp = new RSVP().setTimeout(LEAVE_ACK_TIMEOUT_MILLIS).throwExceptionOnTimeout(true).setResendInterval(500);
        List<Protocol> stack = List.of(tcp, ping, merge, fd, verify, nakack, new UNICAST3(), new STABLE(), gms, new FRAG4(), rsvp);
        JChannel ch = new JChannel(stack);
        ch.name(nodeName);
        ch.setDiscardOwnMessages(true);
        ch.setReceiver(new Receiver() {
            @Override
            public void viewAccepted(View view) {
                onView(view);
            }

            @Override
            public void receive(Message msg) {
                onMessage(msg);
            }
        });
        this.channel = ch;
        ch.connect(cluster);
    }

    /**
     * How long the join waits for an answer from the discovery. A node that knows no peer (the first
     * of a new cluster) would only wait it out, as nobody can answer: it starts as its own view at
     * once, and a peer that knows it merges in later (MERGE3) as it would after the full wait.
     */
    static long joinTimeoutMillis(List<InetSocketAddress> hosts, InetSocketAddress self, Settings settings) {
        boolean knowsNoPeer = hosts.stream().allMatch(self::equals);
        return knowsNoPeer ? Math.min(ALONE_JOIN_TIMEOUT_MILLIS, settings.joinTimeoutMillis()) : settings.joinTimeoutMillis();
    }

    private void onView(View view) {
        currentView = view;
        List<String> names = members();
        log.info("view {}: {}", view.getViewId(), names);
        listener.viewChanged(names);
    }

    /**
     * Names of the members of the current view. A member whose logical name has
     * not reached this node yet (it can trail the view by a moment) is left out
     * until it has; callers poll this, so it appears as soon as it resolves.
     */
    public List<String> members() {
        View v = currentView;
        if (v == null) return List.of();
        List<String> names = new ArrayList<>();
        Map<String, Address> fresh = new java.util.HashMap<>();
        for (Address a : v.getMembers()) {
            String n = NameCache.get(a);
            if (n == null) continue;
            names.add(n);
            fresh.put(n, a);
        }
        byName.keySet().retainAll(fresh.keySet());
        byName.putAll(fresh);
        return List.copyOf(names);
    }

    private void onMessage(Message msg) {
        byte[] raw = msg.getArray();
        if (raw == null || msg.getLength() < 1) return;
        int off = msg.getOffset();
        int k = raw[off];
        if (k < 0 || k >= Kind.values().length) {
            log.warn("dropped a message of unknown kind {} from {}", k, msg.getSrc());
            return;
        }
        byte[] payload = java.util.Arrays.copyOfRange(raw, off + 1, off + msg.getLength());
        String from = NameCache.get(msg.getSrc());
        try {
            listener.received(Kind.values()[k], from == null ? String.valueOf(msg.getSrc()) : from, payload);
        } catch (RuntimeException e) {
            log.warn("bad {} message from {}: {}", Kind.values()[k], from, e.getMessage());
        }
    }

    /** Sends to one member by name; silently drops if it is not in the view (gossip tolerates loss). */
    public void send(String member, Kind kind, byte[] payload) {
        Address dest = byName.get(member);
        JChannel ch = channel;
        if (dest == null || ch == null) return;
        sendTo(ch, dest, kind, payload);
    }

    /** Sends to every member (reliable, ordered per sender). */
    public void broadcast(Kind kind, byte[] payload) {
        JChannel ch = channel;
        if (ch != null) sendTo(ch, null, kind, payload);
    }

    /**
     * Sends to every member and waits until each has delivered it to herd, or
     * until {@link #LEAVE_ACK_TIMEOUT_MILLIS} (a member that crashed does not
     * hold it up longer). Returns whether every member acknowledged.
     */
    public boolean broadcastAndWait(Kind kind, byte[] payload) {
        JChannel ch = channel;
        if (ch == null) return false;
        Message m = framed(null, kind, payload).setFlag(Message.Flag.RSVP);
        try {
            ch.send(m);
            appBytesSent.addAndGet(m.getLength());
            return true;
        } catch (Exception e) {
            log.warn("not every member acknowledged a {} within {} ms: {}", kind, LEAVE_ACK_TIMEOUT_MILLIS, e.toString());
            return false;
        }
    }

    private void sendTo(JChannel ch, Address dest, Kind kind, byte[] payload) {
        Message m = framed(dest, kind, payload);
        try {
            ch.send(m);
            appBytesSent.addAndGet(m.getLength());
        } catch (Exception e) {
            log.debug("send to {} failed: {}", dest, e.toString());
        }
    }

    private static Message framed(Address dest, Kind kind, byte[] payload) {
        byte[] framed = new byte[payload.length + 1];
        framed[0] = (byte) kind.ordinal();
        System.arraycopy(payload, 0, framed, 1, payload.length);
        return new BytesMessage(dest, framed);
    }

    public String self() {
        return nodeName;
    }

    /** The channel, or null before start and after close (tests insert faults into its stack). */
    JChannel channel() {
        return channel;
    }

    /**
     * Closes every connection to a member whose certificate was just revoked.
     * Its reconnects then fail the TLS handshake (the trust manager checks the
     * CRL), heartbeats stop and the failure detector drops it from the view.
     */
    public void cutOff(String member) {
        Address a = byName.get(member);
        JChannel ch = channel;
        if (a == null || ch == null) return;
        Object phys = ch.down(new Event(Event.GET_PHYSICAL_ADDRESS, a));
        if (phys instanceof PhysicalAddress pa) {
            HerdTcp tcp = (HerdTcp) ch.getProtocolStack().getTransport();
            tcp.closeConnectionTo(pa);
            log.info("closed connections to revoked node {} ({})", member, pa);
        }
    }

    /** Bytes and messages the transport sent and received (all membership traffic). */
    public record Traffic(long bytesSent, long bytesReceived, long msgsSent, long msgsReceived, long appBytesSent) {}

    public Traffic traffic() {
        JChannel ch = channel;
        if (ch == null) return new Traffic(0, 0, 0, 0, 0);
        var s = ch.getProtocolStack().getTransport().getMessageStats();
        return new Traffic(s.getNumBytesSent(), s.getNumBytesReceived(), s.getNumMsgsSent(), s.getNumMsgsReceived(),
                appBytesSent.get());
    }

    /** Graceful leave: the others install a view without this node at once. */
    @Override
    public void close() {
        JChannel ch = channel;
        channel = null;
        if (ch != null) {
            try {
                ch.disconnect();
            } finally {
                ch.close();
            }
        }
    }

    /** TCP transport that lets herd close a given peer's connections. */
    static final class HerdTcp extends TCP {
        void closeConnectionTo(PhysicalAddress addr) {
            if (srv != null) srv.closeConnection(addr);
        }
    }
}
