package io.herd.gossip;

import java.util.List;
import java.util.Objects;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * Builds this node's current {@link LoadVector}: the fixed facts it was
 * started with, plus a fresh reading of the host and of the owner.
 * The daemon calls {@link #sample()} about once a second and hands the
 * result to {@link GossipEngine#publishLocal}, which numbers it.
 *
 * <p>CPU utilisation is smoothed (exponentially, time constant
 * {@link #CPU_SMOOTHING_SECONDS}): a reading between two samples half a
 * second apart swings with every browser tab, and placement wants to know
 * how busy the machine has been lately, not in the last jiffy. The load
 * average is already a one-minute average and is passed on as is, less the
 * jobs of other herd nodes on the same machine ({@link #setCoLocatedJobs}).
 */
public final class LoadSampler {

    /** Time constant of the CPU% average. */
    public static final double CPU_SMOOTHING_SECONDS = 10.0;

    private final String node;
    private final String address;
    private final long incarnation;
    private volatile double speed;
    private final int guestSlots;
    private final String sandbox;
    private final String version;
    private final IntSupplier guestJobs;
    private final Supplier<HostProbe.HostSample> host;
    private final OwnerActivitySource owner;
    /** Set by the admin at any time; published with the next sample. */
    private volatile Admin admin = new Admin(List.of(), 0);

    private record Admin(List<String> labels, double guestCpus) {
    }

    /** Jobs of other herd nodes on this machine (see {@link #setCoLocatedJobs}). */
    private volatile IntSupplier coLocatedJobs = () -> 0;

    /** Whether the node takes guests, given the owner's idle seconds now; set by the daemon. */
    private volatile java.util.function.LongFunction<GuestAccess> guests = idle -> GuestAccess.OPEN;

    private double cpuAverage;
    private long samples;
    private long lastSampleNanos;

    /**
     * A sampler of the real machine: a {@link HostProbe} and a
     * {@link LinuxOwnerActivity}.
     *
     * @param node        node name (certificate CN)
     * @param address     advertised gRPC address, {@code host:port}
     * @param incarnation daemon start time, ms since the epoch
     * @param speed       {@link SpeedBenchmark} result
     * @param guestSlots  guest jobs this node accepts at once
     * @param sandbox     sandbox capability level
     * @param version     herd version
     * @param guestJobs   guest jobs running now
     * @throws IllegalArgumentException if the facts would make vectors peers reject
     */
    public LoadSampler(String node, String address, long incarnation, double speed, int guestSlots, String sandbox,
                       String version, IntSupplier guestJobs) {
        this(node, address, incarnation, speed, guestSlots, sandbox, version, guestJobs, new HostProbe()::sample,
                new LinuxOwnerActivity());
    }

    /** As above, with the host and owner readings supplied: for tests, the simulator, other platforms. */
    public LoadSampler(String node, String address, long incarnation, double speed, int guestSlots, String sandbox,
                       String version, IntSupplier guestJobs, Supplier<HostProbe.HostSample> host,
                       OwnerActivitySource owner) {
        this.node = node;
        this.address = address;
        this.incarnation = incarnation;
        this.speed = speed;
        this.guestSlots = guestSlots;
        this.sandbox = sandbox;
        this.version = version;
        this.guestJobs = Objects.requireNonNull(guestJobs, "guestJobs");
        this.host = Objects.requireNonNull(host, "host");
        this.owner = Objects.requireNonNull(owner, "owner");
        // Fail at start, with the field named, rather than at every publication.
        LoadVectorCodec.validate(new LoadVector(node, address, incarnation, 0, 1, speed, 0, 0, 0, 0, 0, 0, -1,
                false, guestSlots, 0, sandbox, version, false));
    }

    /**
     * Raises the published speed to a better calibration: a benchmark run while the
     * cores were contended reads low, never high, so the best run is the truest.
     * Returns the speed now published.
     */
    public double improveSpeed(double measured) {
        if (Double.isFinite(measured) && measured > speed) speed = measured;
        return speed;
    }

    public double speed() {
        return speed;
    }

    /**
     * The admin's labels and the guest CPU cap in force, carried by every
     * vector sampled from now on.
     *
     * @throws IllegalArgumentException if peers would reject them
     */
    public void setAdmin(List<String> labels, double guestCpus) {
        LoadVectorCodec.validate(new LoadVector(node, address, incarnation, 0, 1, speed, 0, 0, 0, 0, 0, 0, -1,
                false, guestSlots, 0, sandbox, version, false, labels, guestCpus));
        admin = new Admin(List.copyOf(labels), guestCpus);
    }

    /**
     * Where several herd nodes share one machine (a demo, a benchmark, nodes emulating a
     * heterogeneous cluster), how many jobs the other nodes run here now. Each sample takes them
     * off the load average it publishes, as placement takes off this node's own guests, so that
     * what remains is this machine's owner's load: a node beside three others running guests is
     * not a machine whose owner keeps it busy. It must be cheap and must not throw.
     */
    public void setCoLocatedJobs(IntSupplier jobs) {
        coLocatedJobs = Objects.requireNonNull(jobs, "jobs");
    }

    /**
     * How each sample learns whether the node takes guests: called with the owner's idle
     * seconds just read (-1 = unknown). It must be cheap and must not throw.
     */
    public void setGuests(java.util.function.LongFunction<GuestAccess> decide) {
        guests = Objects.requireNonNull(decide, "decide");
    }

    /** The node's vector now (seq 0: the gossip engine assigns it). */
    public synchronized LoadVector sample() {
        HostProbe.HostSample h = host.get();
        Admin a = admin;
        OwnerActivity o;
        try {
            o = owner.read();
        } catch (RuntimeException e) {
            o = OwnerActivity.UNKNOWN; // a broken source must not stop the node from gossiping
        }
        long now = System.nanoTime();
        if (samples++ < 2) {
            // The probe's first reading is 0 by contract (no interval yet): seed from the second.
            cpuAverage = h.cpuPercent();
        } else {
            double dt = Math.max(0, (now - lastSampleNanos) / 1e9);
            double alpha = 1 - Math.exp(-dt / CPU_SMOOTHING_SECONDS);
            cpuAverage += alpha * (h.cpuPercent() - cpuAverage);
        }
        lastSampleNanos = now;
        GuestAccess g;
        try {
            g = guests.apply(o.idleSeconds());
        } catch (RuntimeException e) {
            g = new GuestAccess("never", GuestAccess.brief("cannot decide: " + e.getClass().getSimpleName()), 0);
        }
        // A reason too long or not ASCII would make the vector invalid, and the node stop gossiping.
        String brief = GuestAccess.brief(g.reason());
        if (!brief.equals(g.reason())) g = new GuestAccess(g.closed(), brief, g.policyStamp(), g.ownerMemReserveBytes());
        int others;
        try {
            others = Math.max(0, coLocatedJobs.getAsInt());
        } catch (RuntimeException e) {
            others = 0;
        }
        double load1 = Math.max(0, h.load1() - others);
        return new LoadVector(node, address, incarnation, 0, h.cores(), speed, load1,
                Math.min(100.0, Math.max(0.0, cpuAverage)), h.memTotalBytes(), h.memFreeBytes(),
                h.swapTotalBytes(), h.swapFreeBytes(), o.idleSeconds(), o.ownerPresent(), guestSlots,
                Math.max(0, guestJobs.getAsInt()), sandbox, version, false, a.labels(), a.guestCpus(), g);
    }
}
