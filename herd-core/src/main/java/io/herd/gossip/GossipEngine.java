package io.herd.gossip;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.RandomAccess;
import java.util.TreeSet;
import java.util.random.RandomGenerator;

/**
 * Randomized dissemination of load vectors, after MOSIX: every period each
 * node sends one message to each of {@code fanout} random live peers,
 * carrying its own current vector plus up to {@code window} vectors about
 * other nodes, freshest first. Receivers keep, per node, the newest vector
 * ({@link LoadVector#newerThan}) and when they learned it.
 *
 * <h2>What goes in a message</h2>
 * Every entry travels with its <em>age</em>: how long ago its node published
 * it, summed hop by hop from durations on each node's own clock (no clock
 * synchronisation needed). A message holds, in this order:
 * <ol>
 *   <li>the sender's own vector;</li>
 *   <li><em>news</em>, youngest first: vectors the sender learned as news
 *       and has not yet repeated {@link #NEWS_SENDS} times. A vector is news
 *       to a receiver when it arrived as news, is younger than
 *       {@link #NEWS_HORIZON_MILLIS}, and is a new node or a material change
 *       from what the receiver held ({@link LoadChange}: the owner came back,
 *       the node filled up, load moved by a quarter of the cores; not the
 *       jitter between two samples). This is push gossip: each node that hears
 *       a change repeats it to random peers, so it reaches everyone in
 *       O(log N) periods. News takes at most three quarters of the window;</li>
 *   <li><em>refresh</em> for the rest: half the youngest information held
 *       (most likely to be newer than what the destination has), half a
 *       round-robin through everything known (so a node that joined late or
 *       lost messages catches up). Refresh is never passed on as news, which
 *       keeps a late joiner from re-broadcasting history and a cluster
 *       starting at once from drowning in "news".</li>
 * </ol>
 * Jitter thus spreads more slowly than news: with the defaults, at 200 nodes
 * what a node holds about another is typically 2 s old (p90 about 5 s), at
 * 16 nodes half a second.
 *
 * <h2>Why traffic per node is flat</h2>
 * A node sends exactly {@code fanout} messages per period whatever the
 * cluster size, each of at most {@code 1 + window} entries, so
 * <pre>
 *   bytes sent per node per second  &le;  fanout × (MAX_HEADER_BYTES + (1 + window) × MAX_ENTRY_BYTES) × 1000 / periodMillis
 * </pre>
 * ({@link GossipConfig#maxBytesPerSecond()}, constants in {@link LoadVectorCodec}).
 * With the defaults (125 ms, 2, 12) that is 192 KB/s for pathological
 * vectors (every string at its cap in 3-byte characters); real vectors are
 * about 150 bytes and cost 30 KB/s, measured the same at 16, 200 and 1,000
 * nodes. Peers are chosen uniformly, so a node also <em>receives</em>
 * {@code fanout} messages per period on average. What grows with N is the
 * view's memory (one entry per node), news propagation time (O(log N)
 * periods: 0.8 s median at 200 nodes, 1 s at 1,000) and the staleness of
 * jitter-level values.
 *
 * <h2>The price of flat traffic: a news budget</h2>
 * Every node has to hear every piece of news and hears a bounded number of
 * entries per period, so the cluster as a whole can push only so much news:
 * about {@code fanout × (3/4 × window) / (period × NEWS_SENDS)} changes a
 * second, whatever N. With the defaults, changes reach every node within
 * 2 s (p99 and max in GossipSimulationTest) at 6 material changes a second
 * across the cluster; at 8 a second the slowest change now and then takes
 * 2-4 s, and beyond that the youngest news still goes first while older news
 * falls back to the refresh: nothing breaks, news gets slower.
 *
 * <h2>Purity</h2>
 * No I/O, no clock, no threads: time comes in as {@code nowMillis} (any
 * monotonic millisecond clock, the same for all calls of one engine) and
 * randomness from the generator given to the constructor, so a seeded run in
 * the simulator is reproducible. Methods are synchronized because the daemon
 * receives on transport threads and ticks on a timer; uncontended, that
 * costs nothing.
 */
public final class GossipEngine {

    /**
     * Tuning of one engine.
     *
     * @param periodMillis time between two rounds of sends
     * @param fanout       peers messaged per round
     * @param window       vectors of other nodes per message, besides the sender's own
     */
    public record GossipConfig(long periodMillis, int fanout, int window) {
        /** Largest window whose messages always fit {@link LoadVectorCodec#MAX_MESSAGE_BYTES}, even for maximal vectors. */
        public static final int MAX_WINDOW = (LoadVectorCodec.MAX_MESSAGE_BYTES - LoadVectorCodec.MAX_HEADER_BYTES)
                / LoadVectorCodec.MAX_ENTRY_BYTES - 1;

        public GossipConfig {
            if (periodMillis <= 0) throw new IllegalArgumentException("gossip period must be positive: " + periodMillis);
            if (fanout < 1) throw new IllegalArgumentException("gossip fanout must be at least 1: " + fanout);
            if (window < 0 || window > MAX_WINDOW) {
                throw new IllegalArgumentException("gossip window " + window + " outside 0.." + MAX_WINDOW
                        + " (the largest that always fits a " + LoadVectorCodec.MAX_MESSAGE_BYTES + "-byte message)");
            }
        }

        /**
         * 125 ms, fanout 2, window 12: news within 2 s at up to 1,000 nodes
         * and 6 changes a second, for about 30 KB/s per node
         * (GossipSimulationTest). The classic 250 ms / 2 / 8 needs 1.5 s
         * median for a lone change at 200 nodes, 1.8-2.2 s at the tail (push
         * gossip takes about log3(N) rounds plus a few for the last nodes, so
         * the period sets the latency), and its news budget is about 2
         * changes a second: at 6 a second its p99 is 13-19 s.
         */
        public static GossipConfig defaults() {
            return new GossipConfig(125, 2, 12);
        }

        /**
         * The analytic ceiling of bytes sent per node per second: every round,
         * {@code fanout} messages of a maximal header and {@code 1 + window}
         * maximal entries. Independent of cluster size.
         */
        public double maxBytesPerSecond() {
            double perMessage = LoadVectorCodec.MAX_HEADER_BYTES + (1.0 + window) * LoadVectorCodec.MAX_ENTRY_BYTES;
            return fanout * perMessage * 1000.0 / periodMillis;
        }
    }

    /** One message to send: the daemon delivers {@code payload} to {@code destination}'s {@link #receive}. */
    public record Outgoing(String destination, byte[] payload) {
    }

    /**
     * What this node knows about one node.
     *
     * @param vector            the newest vector seen
     * @param learnedAtMillis   when this node learned it, on this engine's clock
     * @param publishedAtMillis when its node published it, estimated on this
     *                          engine's clock from the age it arrived with
     *                          ({@code learnedAtMillis} minus that age); so
     *                          {@code now - publishedAtMillis} is how stale
     *                          the information is
     */
    public record Entry(LoadVector vector, long learnedAtMillis, long publishedAtMillis) {
    }

    /**
     * How many messages carry a piece of news from each node that learns it
     * (7 rounds at fanout 2). With random push, a node is missed by all
     * {@code N × k} repetitions with probability about {@code e^-k}; 14 makes
     * that one in a million, so that even the last of 1,000 nodes hears a
     * change in time. Fewer would leave a tail for the slow refresh to repair;
     * more would spend the news budget on telling nodes what they know.
     */
    static final int NEWS_SENDS = 14;

    /**
     * News older than this is no longer pushed: whoever has not heard it by
     * then gets it from the refresh. Keeps a late learner (a node that just
     * joined, or was cut off) from re-broadcasting history as news.
     */
    static final long NEWS_HORIZON_MILLIS = 2_000;

    /** Tombstones outlive their entry only to stop gossip resurrecting it; keep a bounded number. */
    private static final int MAX_TOMBSTONES = 4096;

    // Plain comparators rather than Comparator.comparingLong chains: these run on every
    // accepted vector, and a 1,000-node simulation makes millions of those.
    private static final Comparator<Slot> BY_NEWS_AGE = (a, b) -> a.newsAt != b.newsAt
            ? Long.compare(a.newsAt, b.newsAt) : Long.compare(a.tiebreak, b.tiebreak);
    private static final Comparator<Slot> BY_PUBLICATION = (a, b) -> a.publishedAt != b.publishedAt
            ? Long.compare(a.publishedAt, b.publishedAt) : Long.compare(a.publishedTiebreak, b.publishedTiebreak);

    private final String self;
    private final GossipConfig config;
    private final RandomGenerator rnd;

    private final Map<String, Slot> slots = new HashMap<>();
    /** Other nodes whose news is still pushed, oldest first. */
    private final TreeSet<Slot> hot = new TreeSet<>(BY_NEWS_AGE);
    /** Other nodes by how recently their current vector was published, oldest first. */
    private final TreeSet<Slot> byPublished = new TreeSet<>(BY_PUBLICATION);
    private long tiebreaks;
    /** Other nodes in a fixed cycle for the refresh that fills the rest of each window. */
    private final List<Slot> ring = new ArrayList<>();
    private int ringCursor;
    private final Map<String, LoadVector> tombstones = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, LoadVector> eldest) {
            return size() > MAX_TOMBSTONES;
        }
    };

    private final Map<String, String> commonStrings = new HashMap<>();

    private Slot own;
    private long nextSendAt;
    private boolean sentOnce;

    private long bytesSent;
    private long messagesSent;
    private long bytesReceived;
    private long messagesReceived;
    private long selfConflicts;

    public GossipEngine(String self, GossipConfig config, RandomGenerator rnd) {
        this.self = Objects.requireNonNull(self, "self");
        this.config = Objects.requireNonNull(config, "config");
        this.rnd = Objects.requireNonNull(rnd, "rnd");
    }

    /**
     * Sets this node's own vector, sent in every message from now on. The
     * engine numbers publications: the stored vector gets {@code seq} =
     * previous + 1 (1 for the first), whatever {@code v.seq()} says, so
     * callers need not track it.
     *
     * @throws IllegalArgumentException if {@code v} is about another node or
     *                                  would be rejected by peers' decoders
     */
    public synchronized void publishLocal(LoadVector v, long nowMillis) {
        Objects.requireNonNull(v, "v");
        if (!self.equals(v.node())) {
            throw new IllegalArgumentException("engine of '" + self + "' cannot publish a vector of '" + v.node() + "'");
        }
        LoadVector next = v.withSeq(own == null ? 1 : own.vector.seq() + 1);
        LoadVectorCodec.validate(next);
        if (own == null) {
            own = new Slot(self);
            own.ownSlot = true;
            slots.put(self, own);
        }
        own.vector = next;
        own.learnedAt = nowMillis;
        own.publishedAt = nowMillis;
    }

    /**
     * Runs a gossip round if one is due: at most one round per period, on a
     * fixed-rate schedule, so a caller whose timer fires a little early or
     * late neither loses rounds nor bursts. Returns nothing before the first
     * {@link #publishLocal} (a node has nothing to say until it knows itself),
     * when no round is due, or when there is no live peer.
     *
     * @param livePeers members the daemon considers alive; this node's own
     *                  name, if present, is skipped
     */
    public synchronized List<Outgoing> tick(long nowMillis, Collection<String> livePeers) {
        if (own == null) return List.of();
        if (sentOnce && nowMillis < nextSendAt) return List.of();
        // Fixed rate from the previous due time; if we fell more than a period behind
        // (a paused daemon), restart the schedule rather than burst to catch up.
        nextSendAt = (!sentOnce || nowMillis - nextSendAt >= config.periodMillis())
                ? nowMillis + config.periodMillis()
                : nextSendAt + config.periodMillis();
        sentOnce = true;

        List<String> targets = pickPeers(livePeers);
        List<Outgoing> out = new ArrayList<>(targets.size());
        for (String dest : targets) {
            byte[] payload = composeMessage(dest, nowMillis);
            bytesSent += payload.length;
            messagesSent++;
            out.add(new Outgoing(dest, payload));
        }
        return out;
    }

    /**
     * Merges a message from a peer: each vector replaces the one held for its
     * node if it is newer. Vectors about this node are never taken (a node is
     * the authority on itself); one that is newer than our own means another
     * daemon claims our name, or this one lost its state, and is counted in
     * {@link #selfConflicts()}.
     *
     * @throws IllegalArgumentException if the payload is not a valid gossip
     *                                  message; nothing is merged then
     */
    public synchronized void receive(byte[] payload, long nowMillis) {
        bytesReceived += payload == null ? 0 : payload.length;
        GossipMessage msg = LoadVectorCodec.decode(payload);
        messagesReceived++;
        for (GossipMessage.Item item : msg.items()) {
            LoadVector v = item.vector();
            String node = v.node();
            if (node.equals(self)) {
                if (own != null && v.newerThan(own.vector)) selfConflicts++;
                continue;
            }
            LoadVector tomb = tombstones.get(node);
            if (tomb != null) {
                if (!v.newerThan(tomb)) continue;
                tombstones.remove(node);
            }
            Slot s = slots.get(node);
            boolean news;
            if (s == null) {
                s = new Slot(node);
                slots.put(node, s);
                s.ringIndex = ring.size();
                ring.add(s);
                news = true;
            } else if (v.newerThan(s.vector)) {
                news = LoadChange.isNews(s.vector, v);
            } else {
                continue;
            }
            s.vector = shareStrings(s.vector, v);
            s.learnedAt = nowMillis;
            byPublished.remove(s); // before its sort key changes
            s.publishedAt = nowMillis - item.ageMillis();
            s.publishedTiebreak = ++tiebreaks;
            byPublished.add(s);
            // Only what arrived as news is passed on as news: a refresh that tells
            // this node something new (it joined late, or lost a message) is a
            // repair, and re-pushing it would flood a cluster that starts at once.
            if (news && item.news() && item.ageMillis() <= NEWS_HORIZON_MILLIS) {
                if (s.sendsLeft > 0) hot.remove(s);
                s.newsAt = s.publishedAt;
                s.tiebreak = ++tiebreaks;
                s.sendsLeft = NEWS_SENDS;
                hot.add(s);
            }
        }
    }

    /** Everything this node knows, itself included (once published); an immutable snapshot. */
    public synchronized Map<String, Entry> view() {
        Map<String, Entry> m = new HashMap<>(slots.size() * 2);
        for (Slot s : slots.values()) m.put(s.node, s.entry());
        return Collections.unmodifiableMap(m);
    }

    /** What this node knows about one node, without copying the whole view. */
    public synchronized Optional<Entry> entry(String node) {
        Slot s = slots.get(node);
        return s == null ? Optional.empty() : Optional.of(s.entry());
    }

    /** How many nodes the view holds, this one included; cheaper than {@code view().size()}. */
    public synchronized int knownNodes() {
        return slots.size();
    }

    /**
     * Drops a node (membership saw it leave or die, or an admin removed it).
     * Its last vector is kept as a tombstone so that gossip still in flight
     * cannot bring it back; only a newer vector (the node returning) is
     * accepted again. Forgetting oneself is a no-op.
     */
    public synchronized void forget(String node) {
        if (self.equals(node)) return;
        Slot s = slots.remove(node);
        if (s == null) return;
        if (s.sendsLeft > 0) hot.remove(s);
        byPublished.remove(s);
        // Swap-remove keeps the ring dense; the moved slot may be skipped or
        // repeated once by the cursor, which a refresh tolerates.
        Slot last = ring.remove(ring.size() - 1);
        if (last != s) {
            ring.set(s.ringIndex, last);
            last.ringIndex = s.ringIndex;
        }
        if (ringCursor >= ring.size()) ringCursor = 0;
        tombstones.put(node, s.vector);
    }

    public String self() {
        return self;
    }

    public GossipConfig config() {
        return config;
    }

    public synchronized long bytesSent() {
        return bytesSent;
    }

    public synchronized long messagesSent() {
        return messagesSent;
    }

    public synchronized long bytesReceived() {
        return bytesReceived;
    }

    public synchronized long messagesReceived() {
        return messagesReceived;
    }

    /** Vectors received about this node that were newer than its own; should stay 0. */
    public synchronized long selfConflicts() {
        return selfConflicts;
    }

    /**
     * One message: own vector, then news youngest first, then refresh. Never
     * the destination's own entry: it knows itself better.
     */
    private byte[] composeMessage(String dest, long now) {
        int limit = config.window() + 1;
        List<Slot> picked = new ArrayList<>(limit);
        picked.add(own);
        // A quarter of the window is kept for the refresh even when news abounds:
        // otherwise a busy cluster would starve joiners and never repair losses.
        int newsLimit = limit - config.window() / 4;

        // News. When more arrives than windows can carry, the oldest stops being
        // pushed (horizon) and travels with the refresh instead.
        List<Slot> spent = null;
        for (Iterator<Slot> it = hot.descendingIterator(); it.hasNext() && picked.size() < newsLimit; ) {
            Slot s = it.next();
            if (now - s.newsAt > NEWS_HORIZON_MILLIS) {
                // Everything from here on is older still.
                if (spent == null) spent = new ArrayList<>();
                spent.add(s);
                while (it.hasNext()) spent.add(it.next());
                break;
            }
            if (s.node.equals(dest)) continue;
            picked.add(s);
            if (--s.sendsLeft == 0) {
                if (spent == null) spent = new ArrayList<>();
                spent.add(s);
            }
        }
        if (spent != null) {
            for (Slot s : spent) {
                hot.remove(s);
                s.sendsLeft = 0;
                s.dropWire();
            }
        }
        int newsCount = picked.size();

        // Refresh, in two halves. The youngest information held first: it is the most
        // likely to be newer than what the destination has, so it halves the median
        // age of what nodes know. Then a round-robin through everything known: that
        // guarantees coverage, so a node that joined late or lost messages catches up.
        int youngEnd = picked.size() + (limit - picked.size() + 1) / 2;
        for (Iterator<Slot> it = byPublished.descendingIterator(); it.hasNext() && picked.size() < youngEnd; ) {
            Slot s = it.next();
            if (!s.node.equals(dest) && !alreadyIn(picked, picked.size(), s)) picked.add(s);
        }
        int ringStart = picked.size();
        for (int scanned = 0; scanned < ring.size() && picked.size() < limit; scanned++) {
            Slot s = ring.get(ringCursor);
            ringCursor = (ringCursor + 1) % ring.size();
            if (!s.node.equals(dest) && !alreadyIn(picked, ringStart, s)) picked.add(s);
        }

        List<io.herd.gossip.proto.LoadVector> wire = new ArrayList<>(picked.size());
        int[] ages = new int[picked.size()];
        for (int i = 0; i < ages.length; i++) {
            Slot s = picked.get(i);
            wire.add(s.wire());
            ages[i] = (int) Math.min(GossipMessage.MAX_AGE_MILLIS, Math.max(0, now - s.publishedAt));
        }
        return LoadVectorCodec.encodeWire(self, wire, ages, newsCount);
    }

    /**
     * Every decode makes new strings, though a node's address, sandbox and
     * version rarely change and the last two are the same cluster-wide.
     * Reusing the held instances keeps the view at about one small record
     * per node, which matters in a simulator holding a thousand views.
     */
    private LoadVector shareStrings(LoadVector old, LoadVector v) {
        String node = old != null ? old.node() : v.node();
        String address = old != null && old.address().equals(v.address()) ? old.address() : v.address();
        String sandbox = common(v.sandbox());
        String version = common(v.version());
        if (node == v.node() && address == v.address() && sandbox == v.sandbox() && version == v.version()) return v;
        return new LoadVector(node, address, v.incarnation(), v.seq(), v.cores(), v.speed(), v.load1(),
                v.cpuPercent(), v.memTotalBytes(), v.memFreeBytes(), v.swapTotalBytes(), v.swapFreeBytes(),
                v.ownerIdleSeconds(), v.ownerPresent(), v.guestSlots(), v.guestJobs(), sandbox, version, v.leaving(),
                v.labels(), v.guestCpus(), v.guests());
    }

    /** A bounded intern table: a cluster runs a handful of versions and sandbox levels. */
    private String common(String s) {
        String held = commonStrings.get(s);
        if (held != null) return held;
        if (commonStrings.size() >= 64) commonStrings.clear(); // a peer sending junk cannot grow it
        commonStrings.put(s, s);
        return s;
    }

    private static boolean alreadyIn(List<Slot> picked, int upTo, Slot s) {
        for (int i = 1; i < upTo; i++) if (picked.get(i) == s) return true;
        return false;
    }

    /**
     * Up to {@code fanout} distinct peers, uniformly at random. The daemon
     * passes a list, so the usual path draws indices without copying it:
     * O(fanout), not O(N), per round. Small, self-heavy or duplicate-laden
     * inputs, where drawing could take long, get an exact partial
     * Fisher-Yates shuffle of a copy instead.
     */
    private List<String> pickPeers(Collection<String> livePeers) {
        int fanout = config.fanout();
        List<String> picked = new ArrayList<>(fanout);
        if (livePeers instanceof List<String> list && livePeers instanceof RandomAccess
                && list.size() > 4 * fanout) {
            int n = list.size();
            for (int attempt = 0; attempt < 4 * fanout && picked.size() < fanout; attempt++) {
                String p = list.get(rnd.nextInt(n));
                if (p != null && !p.equals(self) && !picked.contains(p)) picked.add(p);
            }
            if (picked.size() == fanout) return picked;
            picked.clear();
        }
        List<String> pool = new ArrayList<>(livePeers.size());
        for (String p : livePeers) if (p != null && !p.equals(self)) pool.add(p);
        int n = pool.size();
        for (int i = 0; i < n && picked.size() < fanout; i++) {
            int j = i + rnd.nextInt(n - i);
            String p = pool.get(j);
            pool.set(j, pool.get(i));
            if (!picked.contains(p)) picked.add(p); // a name listed twice still gets one message
        }
        return picked;
    }

    private static final class Slot {
        final String node;
        LoadVector vector;
        long learnedAt;
        long publishedAt;
        /** Publication time of the news being pushed: the key in {@code hot} while {@code sendsLeft > 0}. */
        long newsAt;
        long tiebreak;
        long publishedTiebreak;
        int sendsLeft;
        int ringIndex;
        boolean ownSlot;
        private io.herd.gossip.proto.LoadVector wire;
        private LoadVector wireOf;

        Slot(String node) {
            this.node = node;
        }

        Entry entry() {
            return new Entry(vector, learnedAt, publishedAt);
        }

        /**
         * The vector's protobuf form. Kept only while it is sent often (own
         * vector, news being pushed): caching it for every known node would
         * double the view's memory to save little.
         */
        io.herd.gossip.proto.LoadVector wire() {
            if (wireOf == vector) return wire;
            io.herd.gossip.proto.LoadVector w = LoadVectorCodec.toProto(vector);
            if (sendsLeft > 0 || ownSlot) {
                wire = w;
                wireOf = vector;
            }
            return w;
        }

        void dropWire() {
            wire = null;
            wireOf = null;
        }
    }
}
