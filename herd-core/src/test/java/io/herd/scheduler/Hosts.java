package io.herd.scheduler;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** Test hosts: a plain idle 4-core, 16G node unless told otherwise. */
final class Hosts {

    static final long G = 1L << 30, M = 1L << 20;

    private String name;
    private String state = "alive";
    private int cores = 4;
    private double speed = 5;
    private double load;
    private double cpu;
    private long memFree = 12 * G;
    private long memTotal = 16 * G;
    private int slots = 4;
    private int guests;
    private final Map<String, String> labels = new HashMap<>();
    private Set<String> programs = Set.of("sh", "openssl");
    private double bandwidth;
    private double share;
    private String closed = "";
    private long stamp;
    private long ownerReserve;

    private Hosts(String name) {
        this.name = name;
    }

    static Hosts host(String name) {
        return new Hosts(name);
    }

    static Hosts from(HostView v) {
        Hosts h = new Hosts(v.name());
        h.state = v.state();
        h.cores = v.cores();
        h.speed = v.speed();
        h.load = v.load1();
        h.cpu = v.cpuPercent();
        h.memFree = v.memFreeBytes();
        h.memTotal = v.memTotalBytes();
        h.slots = v.guestSlots();
        h.guests = v.guestJobs();
        h.labels.putAll(v.labels());
        h.programs = v.programs();
        h.bandwidth = v.bytesPerSecondFromHome();
        h.share = v.guestCpuShare();
        h.closed = v.closedToGuests();
        h.stamp = v.policyStamp();
        return h;
    }

    Hosts name(String n) { name = n; return this; }
    Hosts state(String s) { state = s; return this; }
    Hosts cores(int n) { cores = n; return this; }
    Hosts speed(double s) { speed = s; return this; }
    Hosts load(double l) { load = l; return this; }
    Hosts cpu(double c) { cpu = c; return this; }
    Hosts memFree(long b) { memFree = b; return this; }
    Hosts memTotal(long b) { memTotal = b; return this; }
    Hosts slots(int n) { slots = n; return this; }
    Hosts guests(int n) { guests = n; return this; }
    Hosts label(String k) { labels.put(k, ""); return this; }
    Hosts label(String k, String v) { labels.put(k, v); return this; }
    Hosts programs(String... p) { programs = Set.of(p); return this; }
    Hosts bandwidth(double bytesPerSecond) { bandwidth = bytesPerSecond; return this; }
    Hosts share(double cores) { share = cores; return this; }
    Hosts closed(String why) { closed = why; return this; }
    Hosts stamp(long s) { stamp = s; return this; }
    Hosts ownerReserve(long b) { ownerReserve = b; return this; }

    HostView build() {
        return new HostView(name, state, cores, speed, load, cpu, memFree, memTotal, slots, guests, labels, programs,
                bandwidth, share, closed, stamp, ownerReserve);
    }
}
