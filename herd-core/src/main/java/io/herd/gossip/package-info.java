/**
 * Gossip: every node's load vector, spread to every other node with traffic
 * per node that does not grow with the cluster.
 *
 * <h2>Pipeline</h2>
 * <pre>
 *  SpeedBenchmark (once, at start) ─┐
 *  HostProbe (OSHI: cores, load, CPU%, memory, swap) ─┼─▶ LoadSampler.sample() ─▶ LoadVector
 *  OwnerActivitySource (logind, ttys, /dev/input) ────┘          (about once a second)
 *
 *  LoadVector ─▶ GossipEngine.publishLocal ─▶ tick(): every period, one message to each of
 *               `fanout` random peers ─▶ LoadVectorCodec (protobuf, herd/gossip.proto) ─▶ wire
 *  wire ─▶ LoadVectorCodec.decode (validates) ─▶ GossipEngine.receive ─▶ view()
 *  view() ─▶ membership's cluster map, the scheduler's placement, `herd nodes`
 * </pre>
 * The engine is pure (no I/O, clock or threads), so the same code runs in the
 * daemon and in {@code GossipSimulationTest}, which runs 4 to 1,000 engines
 * on a virtual clock with loss and delay.
 *
 * <h2>Vocabulary</h2>
 * <dl>
 *   <dt>load vector</dt><dd>what one node says about itself: capacity
 *       (cores, speed, memory), load, owner activity, guest slots, version.
 *       Numbered by (incarnation, seq); the higher pair wins.</dd>
 *   <dt>incarnation</dt><dd>the daemon's start time; a restarted daemon's
 *       vectors beat everything its previous life said.</dd>
 *   <dt>speed</dt><dd>work units per second per core from
 *       {@link io.herd.gossip.SpeedBenchmark}: the same units on every
 *       machine, so 6 means twice as fast as 3.</dd>
 *   <dt>age</dt><dd>how long ago a vector was published, carried with it and
 *       summed over hops from each node's own clock.</dd>
 *   <dt>news</dt><dd>a young vector that differs materially from what the
 *       receiver held ({@link io.herd.gossip.LoadChange}); repeated by every
 *       node that hears it, youngest first.</dd>
 *   <dt>refresh</dt><dd>the rest of each message: the youngest information
 *       held and a round-robin through the whole view; updates, never
 *       repeated as news.</dd>
 *   <dt>owner</dt><dd>the person at the machine's seat or console; remote
 *       (SSH) users are not owners.</dd>
 * </dl>
 *
 * <h2>The traffic bound, and why it is flat</h2>
 * A node sends {@code fanout} messages per period of at most
 * {@code 1 + window} entries, whatever N, so it sends at most
 * {@code fanout × (header + (1 + window) × MAX_ENTRY_BYTES) / period} bytes
 * a second ({@link io.herd.gossip.GossipEngine.GossipConfig#maxBytesPerSecond()});
 * uniform peer choice makes it receive as much on average. With the defaults
 * (125 ms, fanout 2, window 12) real vectors cost about 30 KB/s per node at
 * 16, 200 or 1,000 nodes. The price: the cluster can spread only a bounded
 * number of material changes a second (about 6 within 2 s with the
 * defaults), and values that change by less than the news thresholds reach
 * distant nodes in seconds rather than immediately. Placement copes: the
 * chosen host re-checks every offer with its own fresh numbers.
 */
package io.herd.gossip;
