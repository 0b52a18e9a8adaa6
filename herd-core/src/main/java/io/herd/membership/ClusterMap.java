package io.herd.membership;

import io.herd.gossip.LoadVector;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cluster map as one node sees it: which nodes exist and in what state,
 * joined with their latest load vectors. Pure: the caller passes the current
 * view, what gossip knows and the time; nothing here reads a clock or a socket.
 *
 * <p>States: {@code alive} (in the view, with fresh information), {@code suspect}
 * (in the view, but the newest information about it is older than the suspicion
 * threshold), {@code leaving}
 * (announced a graceful leave, still in the view), {@code left} (gone after
 * announcing it), {@code dead} (dropped from the view without a word: crash,
 * power loss or partition). Dead nodes stay on the map until they come back or
 * an admin removes them.
 */
public final class ClusterMap {

    /** A known node's latest vector and when it was published (its origin's time, as estimated here). */
    public record Known(LoadVector vector, long publishedAtMillis) {}

    private final String self;
    private final long suspectAfterMillis;
    private final long suspectPerNodeMillis;
    private final Map<String, Known> known = new HashMap<>();
    private final Set<String> inView = new HashSet<>();
    private final Set<String> announcedLeave = new HashSet<>();
    /** Removed nodes; the value is whether it has since been seen out of the view (then a rejoin clears it). */
    private final Map<String, Boolean> removed = new HashMap<>();

    public ClusterMap(String self, long suspectAfterMillis) {
        this(self, suspectAfterMillis, 0);
    }

    /**
     * @param suspectAfterMillis  silence after which a member is suspect in a small cluster
     * @param suspectPerNodeMillis added per member: with traffic per node bounded, each node's
     *        background refresh reaches a given peer less often as the cluster grows, so the
     *        threshold must grow with it or large clusters would flap between alive and suspect
     */
    public ClusterMap(String self, long suspectAfterMillis, long suspectPerNodeMillis) {
        this.self = self;
        this.suspectAfterMillis = suspectAfterMillis;
        this.suspectPerNodeMillis = suspectPerNodeMillis;
    }

    long suspectThresholdMillis() {
        return Math.max(suspectAfterMillis, suspectPerNodeMillis * inView.size());
    }

    public synchronized void viewChanged(Collection<String> members) {
        // A node that rejoins after leaving or dying starts with a clean slate.
        for (String m : members) {
            if (!inView.contains(m)) announcedLeave.remove(m);
        }
        inView.clear();
        inView.addAll(members);
        // A removed node may linger in the view until its connections are cut; only a
        // return after it was gone (a new join, with a new certificate) brings it back.
        removed.entrySet().removeIf(e -> e.getValue() && members.contains(e.getKey()));
        removed.replaceAll((name, gone) -> gone || !members.contains(name));
    }

    /** Records gossip knowledge; only newer vectors replace older ones. */
    public synchronized void learned(LoadVector v, long publishedAtMillis) {
        if (removed.containsKey(v.node())) return;
        Known k = known.get(v.node());
        if (k == null || v.newerThan(k.vector())) {
            known.put(v.node(), new Known(v, publishedAtMillis));
            if (v.leaving()) announcedLeave.add(v.node());
        }
    }

    public synchronized void leaving(String node) {
        announcedLeave.add(node);
    }

    /** An admin removed the node: forget it entirely. */
    public synchronized void removed(String node) {
        removed.put(node, !inView.contains(node));
        known.remove(node);
        announcedLeave.remove(node);
    }

    public synchronized String stateOf(String node, long nowMillis) {
        boolean member = inView.contains(node);
        boolean left = announcedLeave.contains(node);
        if (member) {
            if (left) return "leaving";
            Known k = known.get(node);
            if (!node.equals(self) && (k == null || nowMillis - k.publishedAtMillis() > suspectThresholdMillis())) {
                return "suspect";
            }
            return "alive";
        }
        return left ? "left" : "dead";
    }

    public synchronized List<NodeView> snapshot(long nowMillis) {
        Set<String> names = new HashSet<>(known.keySet());
        names.addAll(inView);
        names.removeAll(removed.keySet());
        List<NodeView> out = new ArrayList<>();
        for (String n : names) {
            Known k = known.get(n);
            String state = stateOf(n, nowMillis);
            double heard = k == null ? -1 : Math.max(0, (nowMillis - k.publishedAtMillis()) / 1000.0);
            if (k == null) {
                out.add(new NodeView(n, "", state, 0, 0, 0, 0, 0, 0, 0, 0, -1, false, 0, 0, "", "", heard, n.equals(self)));
                continue;
            }
            LoadVector v = k.vector();
            out.add(new NodeView(n, v.address(), state, v.cores(), v.speed(), v.load1(), v.cpuPercent(),
                    v.memFreeBytes(), v.memTotalBytes(), v.swapFreeBytes(), v.swapTotalBytes(), v.ownerIdleSeconds(),
                    v.ownerPresent(), v.guestJobs(), v.guestSlots(), v.sandbox(), v.version(), heard, n.equals(self),
                    v.labels(), v.guestCpus(), v.guests().accepting() ? "yes" : v.guests().closed(),
                    v.guests().reason(), v.guests().policyStamp(), v.guests().ownerMemReserveBytes()));
        }
        out.sort(Comparator.comparing(NodeView::name));
        return out;
    }

    /** gRPC addresses of every node this node has heard of, for discovery after a restart. */
    public synchronized List<String> knownAddresses() {
        List<String> out = new ArrayList<>();
        for (Known k : known.values()) {
            if (!k.vector().address().isEmpty()) out.add(k.vector().address());
        }
        out.sort(null);
        return out;
    }
}
