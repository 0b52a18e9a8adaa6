package io.herd.gossip;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Runs N real {@link GossipEngine}s on a virtual clock: timers, publications
 * and message deliveries are events in one queue, so a 1,000-node minute
 * takes seconds and a seed replays a run exactly.
 *
 * <p>Workload, chosen to look like a daemon: every node samples and publishes
 * every {@code publishMillis} with jitter well under {@link LoadChange}'s
 * thresholds, and the cluster as a whole makes {@code newsPerSecond}
 * material changes (Poisson; a random node's guest count or load steps).
 * Every material change is a probe: its propagation time is from the
 * publication until every other node holds that vector or a newer one.
 * Messages arrive after a uniform 0..maxDelay ms and are lost with
 * probability {@code loss}.
 */
final class GossipSimulator {

    record Settings(int nodes, GossipEngine.GossipConfig config, long seed, double loss, long maxDelayMillis,
                    long publishMillis, double newsPerSecond, long warmupMillis, long measureMillis,
                    boolean warmStart) {
        Settings withNodes(int n) {
            return new Settings(n, config, seed, loss, maxDelayMillis, publishMillis, newsPerSecond, warmupMillis,
                    measureMillis, warmStart);
        }

        Settings withSeed(long s) {
            return new Settings(nodes, config, s, loss, maxDelayMillis, publishMillis, newsPerSecond, warmupMillis,
                    measureMillis, warmStart);
        }

        Settings withNews(double perSecond) {
            return new Settings(nodes, config, seed, loss, maxDelayMillis, publishMillis, perSecond, warmupMillis,
                    measureMillis, warmStart);
        }

        Settings withConfig(GossipEngine.GossipConfig c) {
            return new Settings(nodes, c, seed, loss, maxDelayMillis, publishMillis, newsPerSecond, warmupMillis,
                    measureMillis, warmStart);
        }

        Settings cold() {
            return new Settings(nodes, config, seed, loss, maxDelayMillis, publishMillis, newsPerSecond, warmupMillis,
                    measureMillis, false);
        }

        Settings withTimes(long warmup, long measure) {
            return new Settings(nodes, config, seed, loss, maxDelayMillis, publishMillis, newsPerSecond, warmup,
                    measure, warmStart);
        }
    }

    /**
     * What a run measured.
     *
     * @param propagationMillis  per probe, sorted; {@code Long.MAX_VALUE} for one that never completed
     * @param bytesPerSecond     per node, sent during the measured interval
     * @param convergedAtMillis  when every node first knew every other node (cold start), -1 if never
     * @param staleness          at the end of the measured interval, over all (node, other node)
     *                           pairs: p50 and p90 of how old the information held is
     *                           ({@code now - publishedAtMillis}), then p50 and p90 of the time
     *                           since the holder last learned a newer vector. Jitter-level
     *                           staleness: material changes are the probes.
     */
    record Result(long[] propagationMillis, double[] bytesPerSecond, long convergedAtMillis, long messagesLost,
                  long[] staleness) {
        long percentile(double p) {
            if (propagationMillis.length == 0) return 0;
            int i = (int) Math.ceil(p / 100.0 * propagationMillis.length) - 1;
            return propagationMillis[Math.max(0, Math.min(i, propagationMillis.length - 1))];
        }

        long max() {
            return propagationMillis.length == 0 ? 0 : propagationMillis[propagationMillis.length - 1];
        }

        double meanBytesPerSecond() {
            return Arrays.stream(bytesPerSecond).average().orElse(0);
        }

        double maxBytesPerSecond() {
            return Arrays.stream(bytesPerSecond).max().orElse(0);
        }

        @Override
        public String toString() {
            return String.format("probes=%d p50=%dms p99=%dms max=%s bytes/s/node mean=%.0f max=%.0f converged=%dms"
                            + " lost=%d info-age p50/p90=%d/%dms since-learned p50/p90=%d/%dms",
                    propagationMillis.length, percentile(50), percentile(99),
                    max() == Long.MAX_VALUE ? "never" : max() + "ms", meanBytesPerSecond(), maxBytesPerSecond(),
                    convergedAtMillis, messagesLost, staleness[0], staleness[1], staleness[2], staleness[3]);
        }
    }

    /** A probe gives up after this long; the test then fails on the max. */
    private static final long PROBE_TIMEOUT_MILLIS = 30_000;

    private final Settings s;
    private final SplittableRandom rnd;
    private final GossipEngine[] engines;
    private final String[] names;
    private final List<String> allNames;
    private final LoadVector[] base;
    private final PriorityQueue<Event> queue = new PriorityQueue<>();
    private final List<Probe> active = new ArrayList<>();
    private final List<Long> finished = new ArrayList<>();
    private long eventSeq;
    private long now;
    private long messagesLost;

    private GossipSimulator(Settings s) {
        this.s = s;
        this.rnd = new SplittableRandom(s.seed());
        int n = s.nodes();
        engines = new GossipEngine[n];
        names = new String[n];
        base = new LoadVector[n];
        for (int i = 0; i < n; i++) {
            names[i] = String.format("node-%04d.lab.example.org", i);
            engines[i] = new GossipEngine(names[i], s.config(), rnd.split());
            base[i] = new LoadVector(names[i], "10.1." + (i / 250) + "." + (i % 250) + ":7443",
                    1_763_700_000_000L + rnd.nextInt(1_000_000), 0, 8, 4.2, 1.0, 20.0,
                    16L << 30, 9L << 30, 4L << 30, 4L << 30, 600, true, 8, 0, "bwrap+cgroup2", "0.1.0", false);
        }
        allNames = List.of(names);
    }

    static Result run(Settings s) {
        return new GossipSimulator(s).run();
    }

    private Result run() {
        int n = s.nodes();
        long end = s.warmupMillis() + s.measureMillis();
        if (s.warmStart()) seedViews();
        for (int i = 0; i < n; i++) {
            // Daemons start within one publish interval of each other, timers at random phases.
            schedule(rnd.nextLong(s.publishMillis()), Kind.PUBLISH, i, null);
            schedule(rnd.nextLong(s.config().periodMillis()), Kind.TICK, i, null);
        }
        if (s.newsPerSecond() > 0) schedule(s.warmupMillis() + nextGap(), Kind.NEWS, -1, null);

        long[] bytesAtWarmup = null;
        long[] bytesAtEnd = null;
        long[] staleness = null;
        long convergedAt = -1;
        long nextConvergenceCheck = 0;
        while (!queue.isEmpty()) {
            Event e = queue.poll();
            if (bytesAtWarmup == null && e.time >= s.warmupMillis()) bytesAtWarmup = bytesSent();
            if (bytesAtEnd == null && e.time >= end) {
                bytesAtEnd = bytesSent();
                staleness = staleness(end);
            }
            if (e.time >= end && active.isEmpty()) break;
            now = e.time;
            switch (e.kind) {
                case PUBLISH -> {
                    publish(e.node, jitter(base[e.node]));
                    schedule(now + s.publishMillis(), Kind.PUBLISH, e.node, null);
                }
                case TICK -> {
                    for (GossipEngine.Outgoing o : engines[e.node].tick(now, allNames)) {
                        if (rnd.nextDouble() < s.loss()) {
                            messagesLost++;
                            continue;
                        }
                        int dest = indexOf(o.destination());
                        schedule(now + rnd.nextLong(s.maxDelayMillis() + 1), Kind.DELIVER, dest, o.payload());
                    }
                    // Like the daemon's timer: fires more often than the period; the engine paces itself.
                    schedule(now + s.config().periodMillis() / 5, Kind.TICK, e.node, null);
                }
                case DELIVER -> {
                    engines[e.node].receive(e.payload, now);
                    checkProbes(e.node);
                }
                case NEWS -> {
                    if (now < end) {
                        int i = rnd.nextInt(n);
                        base[i] = materialChange(base[i]);
                        long seq = publish(i, jitter(base[i]));
                        active.add(new Probe(i, seq, now, n));
                        schedule(now + nextGap(), Kind.NEWS, -1, null);
                    }
                }
            }
            expireProbes();
            if (convergedAt < 0 && now >= nextConvergenceCheck) {
                if (everyoneKnowsEveryone()) convergedAt = now;
                nextConvergenceCheck = now + 50;
            }
        }
        if (bytesAtEnd == null) {
            bytesAtEnd = bytesSent();
            staleness = staleness(now);
        }
        double[] perSecond = new double[n];
        for (int i = 0; i < n; i++) {
            perSecond[i] = (bytesAtEnd[i] - bytesAtWarmup[i]) * 1000.0 / s.measureMillis();
        }
        long[] props = finished.stream().mapToLong(Long::longValue).sorted().toArray();
        return new Result(props, perSecond, convergedAt, messagesLost, staleness);
    }

    /**
     * A cluster that has been running for a while: every node publishes once
     * and every engine learns every vector through a refresh (not news)
     * message, as the round-robin refresh would have delivered it. Cold
     * start, where all N nodes meet at once, is the other setting.
     */
    private void seedViews() {
        int n = s.nodes();
        for (int i = 0; i < n; i++) publish(i, base[i]);
        int chunk = GossipEngine.GossipConfig.MAX_WINDOW;
        for (int from = 0; from < n; from += chunk) {
            List<GossipMessage.Item> items = new ArrayList<>(chunk);
            for (int i = from; i < Math.min(n, from + chunk); i++) {
                // Old enough not to count as news, like what a refresh carries.
                items.add(new GossipMessage.Item(engines[i].entry(names[i]).orElseThrow().vector(),
                        GossipEngine.NEWS_HORIZON_MILLIS + 1, i == from));
            }
            byte[] payload = LoadVectorCodec.encode(new GossipMessage(names[from], items));
            for (GossipEngine e : engines) e.receive(payload, 0);
        }
    }

    private long publish(int i, LoadVector v) {
        engines[i].publishLocal(v, now);
        return engines[i].entry(names[i]).orElseThrow().vector().seq();
    }

    private void checkProbes(int node) {
        for (int p = 0; p < active.size(); p++) {
            Probe probe = active.get(p);
            if (probe.reached.get(node)) continue;
            var e = engines[node].entry(names[probe.source]);
            if (e.isPresent() && e.get().vector().seq() >= probe.seq) {
                probe.reached.set(node);
                if (probe.reached.cardinality() == s.nodes()) {
                    finished.add(now - probe.start);
                    active.remove(p--);
                }
            }
        }
    }

    private void expireProbes() {
        for (int p = 0; p < active.size(); p++) {
            if (now - active.get(p).start > PROBE_TIMEOUT_MILLIS) {
                finished.add(Long.MAX_VALUE);
                active.remove(p--);
            }
        }
    }

    /** Median and p90 of information age and of time since learned, over all pairs of distinct nodes. */
    private long[] staleness(long at) {
        int n = s.nodes();
        long[] age = new long[n * (n - 1)];
        long[] learned = new long[age.length];
        int k = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i == j) continue;
                var e = engines[i].entry(names[j]);
                age[k] = e.map(x -> at - x.publishedAtMillis()).orElse(Long.MAX_VALUE);
                learned[k++] = e.map(x -> at - x.learnedAtMillis()).orElse(Long.MAX_VALUE);
            }
        }
        Arrays.sort(age);
        Arrays.sort(learned);
        if (age.length == 0) return new long[4];
        int p50 = (int) Math.ceil(0.5 * age.length) - 1;
        int p90 = (int) Math.ceil(0.9 * age.length) - 1;
        return new long[]{age[p50], age[p90], learned[p50], learned[p90]};
    }

    private boolean everyoneKnowsEveryone() {
        for (GossipEngine e : engines) if (e.knownNodes() < s.nodes()) return false;
        return true;
    }

    private long[] bytesSent() {
        long[] b = new long[engines.length];
        for (int i = 0; i < engines.length; i++) b[i] = engines[i].bytesSent();
        return b;
    }

    /** Sample-to-sample noise, always within {@link LoadChange}'s thresholds of the base. */
    private LoadVector jitter(LoadVector b) {
        double load = Math.max(0, b.load1() + (rnd.nextDouble() - 0.5) * 0.4);
        double cpu = Math.min(100, Math.max(0, b.cpuPercent() + (rnd.nextDouble() - 0.5) * 16));
        long mem = b.memFreeBytes() + (long) ((rnd.nextDouble() - 0.5) * (64L << 20));
        return new LoadVector(b.node(), b.address(), b.incarnation(), b.seq(), b.cores(), b.speed(),
                Math.round(load * 100) / 100.0, Math.round(cpu * 10) / 10.0, b.memTotalBytes(), mem,
                b.swapTotalBytes(), b.swapFreeBytes(), b.ownerIdleSeconds() + now / 1000, b.ownerPresent(),
                b.guestSlots(), b.guestJobs(), b.sandbox(), b.version(), b.leaving());
    }

    /**
     * A change placement acts on, one of: the owner sits down or leaves; the
     * node fills its last guest slot or frees one; a big job starts or ends
     * (load and memory step). Checked against {@link LoadChange} so a probe
     * is always news.
     */
    private LoadVector materialChange(LoadVector b) {
        LoadVector next = switch (rnd.nextInt(3)) {
            case 0 -> with(b, b.load1(), b.memFreeBytes(), !b.ownerPresent(), b.guestJobs());
            case 1 -> with(b, b.load1(), b.memFreeBytes(), b.ownerPresent(),
                    b.guestJobs() == b.guestSlots() ? b.guestSlots() - 1 : b.guestSlots());
            default -> b.load1() < 4
                    ? with(b, b.load1() + 4, b.memFreeBytes() - (4L << 30), b.ownerPresent(), b.guestJobs())
                    : with(b, b.load1() - 4, b.memFreeBytes() + (4L << 30), b.ownerPresent(), b.guestJobs());
        };
        if (!LoadChange.isNews(b, next)) throw new AssertionError("simulated change is not news: " + next);
        return next;
    }

    private static LoadVector with(LoadVector b, double load, long memFree, boolean ownerPresent, int guestJobs) {
        return new LoadVector(b.node(), b.address(), b.incarnation(), b.seq(), b.cores(), b.speed(), load,
                b.cpuPercent(), b.memTotalBytes(), memFree, b.swapTotalBytes(), b.swapFreeBytes(),
                b.ownerIdleSeconds(), ownerPresent, b.guestSlots(), guestJobs, b.sandbox(), b.version(), b.leaving());
    }

    private long nextGap() {
        return Math.max(1, Math.round(-Math.log(1 - rnd.nextDouble()) * 1000.0 / s.newsPerSecond()));
    }

    private int indexOf(String name) {
        // Names are node-%04d...: parse instead of a map lookup on the hot path.
        return Integer.parseInt(name, 5, 9, 10);
    }

    private void schedule(long time, Kind kind, int node, byte[] payload) {
        queue.add(new Event(time, eventSeq++, kind, node, payload));
    }

    private enum Kind { PUBLISH, TICK, DELIVER, NEWS }

    private record Event(long time, long seq, Kind kind, int node, byte[] payload) implements Comparable<Event> {
        @Override
        public int compareTo(Event o) {
            int c = Long.compare(time, o.time);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    private static final class Probe {
        final int source;
        final long seq;
        final long start;
        final BitSet reached;

        Probe(int source, long seq, long start, int n) {
            this.source = source;
            this.seq = seq;
            this.start = start;
            this.reached = new BitSet(n);
            reached.set(source);
        }
    }
}
