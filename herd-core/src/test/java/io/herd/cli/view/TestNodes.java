package io.herd.cli.view;

import io.herd.membership.NodeView;

import java.util.ArrayList;
import java.util.List;

/** Builds {@link NodeView}s for the view tests: an idle 2-core alive node unless told otherwise. */
final class TestNodes {

    static final long G = 1L << 30;

    private String name = "node";
    private String address = "10.0.0.1:7946";
    private String state = "alive";
    private int cores = 2;
    private double speed = 3.9;
    private double load = 0.5;
    private double cpuPercent = 25;
    private long memFree = 3 * G;
    private long memTotal = 8 * G;
    private long ownerIdle = 192 * 60;
    private boolean ownerPresent;
    private int guestJobs = 1;
    private int guestSlots = 2;
    private String sandbox = "bwrap+cgroup2";
    private String version = "0.1.0-SNAPSHOT";
    private double lastHeard = 0.3;
    private boolean self;
    private List<String> labels = List.of();
    private double guestCpus;
    private String accept = "yes";
    private String acceptReason = "";

    static TestNodes node(String name) {
        TestNodes b = new TestNodes();
        b.name = name;
        return b;
    }

    TestNodes address(String v) { address = v; return this; }
    TestNodes state(String v) { state = v; return this; }
    TestNodes cores(int v) { cores = v; return this; }
    TestNodes speed(double v) { speed = v; return this; }
    TestNodes load(double v) { load = v; return this; }
    TestNodes cpu(double v) { cpuPercent = v; return this; }
    TestNodes mem(long free, long total) { memFree = free; memTotal = total; return this; }
    TestNodes ownerIdle(long v, boolean present) { ownerIdle = v; ownerPresent = present; return this; }
    TestNodes guests(int jobs, int slots) { guestJobs = jobs; guestSlots = slots; return this; }
    TestNodes version(String v) { version = v; return this; }
    TestNodes sandbox(String v) { sandbox = v; return this; }
    TestNodes lastHeard(double v) { lastHeard = v; return this; }
    TestNodes self() { self = true; return this; }
    TestNodes labels(String... v) { labels = List.of(v); return this; }
    TestNodes guestCpus(double v) { guestCpus = v; return this; }
    TestNodes accept(String word, String reason) { accept = word; acceptReason = reason; return this; }

    NodeView build() {
        return new NodeView(name, address, state, cores, speed, load, cpuPercent, memFree, memTotal,
                G, 2 * G, ownerIdle, ownerPresent, guestJobs, guestSlots, sandbox, version, lastHeard, self, labels,
                guestCpus, accept, acceptReason, 0);
    }

    /** Four nodes out of name order: alpha (self), bravo, charlie (dead), delta (owner present). */
    static List<NodeView> four() {
        return List.of(
                node("delta").address("192.168.100.104:7946").ownerIdle(42, true).load(1.53).cores(4).build(),
                node("alpha").address("192.168.100.101:7946").self().build(),
                node("charlie").address("192.168.100.103:7946").state("dead").lastHeard(185).build(),
                node("bravo").address("192.168.100.102:7946").build());
    }

    /** {@code count} alive nodes named node-01, node-02, ... */
    static List<NodeView> many(int count) {
        List<NodeView> nodes = new ArrayList<>();
        for (int i = 1; i <= count; i++) {
            nodes.add(node(String.format("node-%02d", i)).address("10.0.0." + i + ":7946").build());
        }
        return nodes;
    }

    private TestNodes() {
    }
}
