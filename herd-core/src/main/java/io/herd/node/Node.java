package io.herd.node;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.NodeRpcServer;
import io.herd.api.proto.Ack;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.CrlUpdate;
import io.herd.api.proto.JoinReply;
import io.herd.api.proto.JoinRequest;
import io.herd.api.proto.Leaving;
import io.herd.api.proto.NodeInfo;
import io.herd.api.proto.NodeServiceGrpc;
import io.herd.api.proto.NodesReply;
import io.herd.api.proto.Notice;
import io.herd.api.proto.Revoked;
import io.herd.api.proto.RevokeNodeReply;
import io.herd.api.proto.RevokeNodeRequest;
import io.herd.api.proto.StatusReply;
import io.herd.api.proto.TokenReply;
import io.herd.gossip.GossipEngine;
import io.herd.gossip.LoadSampler;
import io.herd.gossip.LoadVector;
import io.herd.membership.ClusterMap;
import io.herd.membership.Membership;
import io.herd.membership.NodeView;
import io.herd.security.ClusterCa;
import io.herd.security.JoinRefusedException;
import io.herd.security.JoinToken;
import io.herd.security.NodeIdentity;
import io.herd.security.Revocations;
import io.herd.security.TlsContexts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One herd daemon: wires security, membership, gossip, the gRPC endpoint and
 * the local control socket for a data directory. Every machine runs the same
 * daemon; the one that ran {@code herd init} also holds the cluster CA.
 */
public final class Node implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Node.class);

    /** Tunables; defaults are what a production node uses. */
    public record Options(Duration speedBudget, Membership.Settings membership, GossipEngine.GossipConfig gossip,
                          long sampleMillis, long suspectAfterMillis) {
        public static Options defaults() {
            return new Options(Duration.ofMillis(300), Membership.Settings.defaults(),
                    GossipEngine.GossipConfig.defaults(), 500, 3000);
        }
    }

    private final DataDir dir;
    private final Options options;
    private final Clock clock;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final AtomicBoolean closing = new AtomicBoolean();

    private NodeConfig config;
    private NodeIdentity identity;
    private Revocations revocations;
    private ClusterCa ca;
    private GossipEngine gossip;
    private ClusterMap map;
    private LoadSampler sampler;
    private Membership membership;
    private NodeRpcServer rpc;
    private ControlServer control;
    private ScheduledExecutorService timer;
    /** Watches that the timer thread (gossip and load sampling) keeps running; logs where it hangs if not. */
    private ScheduledExecutorService watchdog;
    private volatile Thread timerThread;
    /** A timer thread silent this long is logged: peers call the node suspect after about 5 s without gossip. */
    static final long TIMER_STALL_NANOS = 3_000_000_000L;
    private final StallWatch timerStall = new StallWatch(TIMER_STALL_NANOS, System.nanoTime());
    private volatile boolean leaving;
    private io.herd.journal.Journal journal;
    private io.herd.host.HostJobs hostJobs;
    private io.herd.transfer.ContentStore store;
    private io.herd.executor.Cgroups cgroups;
    private io.herd.owner.OwnerMonitor owner;
    private io.herd.transfer.TransferServer transfers;
    private volatile io.herd.home.JobManager jobs;
    private JobControl jobControl;
    private volatile NodeAdmin admin;
    private io.grpc.netty.shaded.io.netty.handler.ssl.SslContext clientTls;
    private final java.util.Map<String, ManagedChannel> channels = new java.util.concurrent.ConcurrentHashMap<>();
    /** The key of {@link #channels} for this node's own services, in process (no address is a blank). */
    private static final String SELF = " self";
    private long startedAt;
    private double speed;
    private volatile List<String> lastPeers = List.of();
    private volatile List<String> lastMembers = List.of();

    public Node(DataDir dir, Options options, Clock clock) {
        this.dir = dir;
        this.options = options;
        this.clock = clock;
    }

    public void start() throws Exception {
        long t0 = System.nanoTime();
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "herd-gossip");
            t.setDaemon(true);
            timerThread = t;
            return t;
        });
        if (io.herd.api.ControlClient.isRunning(dir.root())) {
            throw new IllegalStateException("a herd daemon is already running for " + dir + "; stop it with `herd leave --data " + dir + "`");
        }
        dir.useForNativeLibraries();   // before the first SQLite use: the CA's database, the journal
        config = NodeConfig.load(dir.config());
        identity = NodeIdentity.load(dir.root());
        revocations = Revocations.load(dir.root(), identity.caCertificate());
        if (dir.holdsCa()) {
            ca = ClusterCa.open(dir.caDir());
            revocations.update(ca.currentCrl());
        }
        if (revocations.isRevoked(identity.certificate())) {
            throw new IllegalStateException("this node's certificate was revoked (the node was removed from the cluster); "
                    + "join again with a new token: `herd join ADDR --token T --data " + dir + "` after removing " + dir);
        }
        long tSecurity = System.nanoTime();
        long incarnation = clock.millis();
        startedAt = incarnation;
        speed = io.herd.gossip.SpeedBenchmark.measure(options.speedBudget());
        int slots = Runtime.getRuntime().availableProcessors();
        journal = io.herd.journal.Journal.open(dir.root().resolve("journal.db"), config.name());
        store = new io.herd.transfer.ContentStore(dir.root().resolve("store"), storeBytes(dir.root()));
        transfers = new io.herd.transfer.TransferServer(store);
        // Sandboxes of a previous life are dead: their jobs run again from their home nodes.
        java.nio.file.Path sandboxes = Files.createDirectories(dir.root().resolve("sandboxes"));
        try (var old = Files.list(sandboxes)) {
            for (java.nio.file.Path p : old.toList()) io.herd.transfer.SandboxFiles.delete(p);
        }
        cgroups = io.herd.executor.Cgroups.detect(dir.cgroupName(config.name()));
        cgroups.removeAll(); // a crashed previous life's jobs: their homes run them again
        // Guests see nothing of this node's data directory but their own sandbox (see HostJobs.isGuest for who is one).
        io.herd.executor.Sandbox sandbox = io.herd.executor.Sandbox.detect(List.of(dir.root()),
                System.getProperty("herd.guest-account", io.herd.executor.Sandbox.DEFAULT_ACCOUNT));
        log.info("guests: {}; {}", sandbox.describe(), cgroups.describe());
        hostJobs = new io.herd.host.HostJobs(config.name(), dir.root().resolve("sandboxes"),
                new io.herd.executor.ProcessRunner(cgroups, sandbox), store, slots, clock,
                () -> admin == null ? io.herd.policy.Policy.DEFAULT : admin.policy(),
                () -> admin == null ? io.herd.policy.Admission.Decision.ACCEPTING : admin.decisionNow(),
                () -> admin == null ? 0 : admin.policyStamp());
        sampler = new LoadSampler(config.name(), config.grpcAddress(), incarnation, speed, slots,
                SandboxLevel.of(sandbox, cgroups, new io.herd.owner.Pressure(java.nio.file.Path.of("/proc")).hasPsi()), Version.get(), hostJobs::slotsInUse);
        io.herd.executor.Cgroups cg = cgroups;
        sampler.setCoLocatedJobs(cg::otherNodesJobs);
        owner = io.herd.owner.OwnerMonitor.fromSystemProperties(dir.root(), new io.herd.gossip.LinuxOwnerActivity(),
                new io.herd.owner.OwnerLoad(java.nio.file.Path.of("/proc/stat"), cg::guestsCpuNanos), hostJobs);
        if (owner != null) {
            // The owner's disk and memory: guests back off on the owner's write latency and on memory running short.
            io.herd.owner.Pressure pressure = new io.herd.owner.Pressure(java.nio.file.Path.of("/proc"));
            long memTotal = pressure.memTotal();
            owner.enableBackoff(() -> {
                io.herd.policy.Policy p = admin == null ? io.herd.policy.Policy.DEFAULT : admin.policy();
                return io.herd.owner.Backoff.Settings.of(p.ownerIoLatencyMillis(),
                        memTotal <= 0 ? 0 : p.ownerMemReserve().of(memTotal), p.guestMemRate());
            }, pressure, new io.herd.owner.IoProbe(dir.root().resolve("owner-io-probe")), () -> hostJobs.slotsInUse() > 0,
                    cg::setGuestIoFactor);
            owner.enableMemRate(() -> cg.guestsAnonBytes().orElse(-1), f -> {
                if (!cg.setGuestCpuFactor(f)) log.debug("no cpu controller: the guests' CPU share stays as it is");
            });
            hostJobs.ownerAway(owner::acceptsGuests);
            hostJobs.ownerMemory(asked -> io.herd.owner.MemoryRoom.refusal(asked, pressure::memAvailable,
                    memTotal <= 0 || admin == null ? 0 : admin.policy().ownerMemReserve().of(memTotal)));
            owner.start();
        }
        admin = new NodeAdmin(config.name(), dir.root(), cgroups, this::adminChanged, clock);
        admin.start();
        sampler.setAdmin(admin.labels(), admin.guestCpusInForce());
        sampler.setGuests(idle -> {
            // The policy's answer, unless the owner is back: then no new guests either, and homes
            // should know it before they try (HostJobs refuses them meanwhile).
            io.herd.gossip.GuestAccess g = admin.guestAccess(idle);
            io.herd.owner.OwnerMonitor watch = owner;
            return g.accepting() && watch != null && !watch.acceptsGuests()
                    ? new io.herd.gossip.GuestAccess("idle-wait", watch.whyNoGuests(), g.policyStamp(), g.ownerMemReserveBytes()) : g;
        });
        gossip = new GossipEngine(config.name(), options.gossip(), new Random());
        GossipEngine.GossipConfig g = options.gossip();
        // A node's entry reaches a given peer through the background refresh about every
        // N * period / (fanout * window / 2); allow three such rounds before suspecting it.
        long perNode = 3 * g.periodMillis() / Math.max(1, (long) g.fanout() * Math.max(1, g.window() / 2));
        map = new ClusterMap(config.name(), options.suspectAfterMillis(), perNode);
        publish();

        long tBench = System.nanoTime();
        rpc = new NodeRpcServer(config.grpcBind(), TlsContexts.grpcServer(identity, revocations), revocations, new RpcBackend(),
                List.of(hostJobs, transfers.service()));
        rpc.start();

        long tRpc = System.nanoTime();
        membership = new Membership(config.name(), config.cluster(), config.membershipBind(), config.membershipPort(),
                TlsContexts.jdk(identity, revocations), options.membership(), new MembershipListener());
        membership.start(initialHosts());

        long tMembership = System.nanoTime();
        clientTls = TlsContexts.grpcClient(identity, revocations);
        jobs = new io.herd.home.JobManager(config.name(), journal, dir.root().resolve("jobs"), clock, this::hostViews,
                this::channelTo, new io.herd.home.Staging(store, this::channelTo, dir.root().resolve("jobs")), this::sampledAt);
        jobs.start();
        control = new ControlServer(dir.socket(), this::handleControl);
        jobControl = new JobControl(jobs, journal, clock);
        control.setStreamingHandler(jobControl::serve);
        control.start();
        Files.writeString(dir.pidFile(), Long.toString(ProcessHandle.current().pid()));

        timer.scheduleAtFixedRate(this::sampleSafely, options.sampleMillis(), options.sampleMillis(), TimeUnit.MILLISECONDS);
        long tick = Math.max(10, options.gossip().periodMillis() / 5);
        timerStall.beat(System.nanoTime());
        timer.scheduleAtFixedRate(this::gossipSafely, tick, tick, TimeUnit.MILLISECONDS);
        watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "herd-watchdog");
            t.setDaemon(true);
            return t;
        });
        watchdog.scheduleWithFixedDelay(this::checkTimer, 1, 1, TimeUnit.SECONDS);
        timer.scheduleAtFixedRate(this::savePeersSafely, 5, 10, TimeUnit.SECONDS);
        for (long at : RECALIBRATE_AFTER_SECONDS) timer.schedule(this::recalibrateSafely, at, TimeUnit.SECONDS);
        log.info("node {} of cluster {} up: gRPC {}, membership {}:{}, speed {}", config.name(), config.cluster(),
                config.grpcAddress(), config.membershipBind().getHostAddress(), config.membershipPort(),
                String.format("%.2f", speed));
        log.info("started in {} ms: security {} ms, speed benchmark {} ms, gRPC {} ms, membership join {} ms",
                ms(t0, System.nanoTime()), ms(t0, tSecurity), ms(tSecurity, tBench), ms(tBench, tRpc), ms(tRpc, tMembership));
    }

    /** The content store's bound: a quarter of the data directory's file system, between 1 and 64 GiB. */
    private static long storeBytes(java.nio.file.Path root) throws java.io.IOException {
        long quarter = Files.getFileStore(root).getTotalSpace() / 4;
        return Math.max(1L << 30, Math.min(64L << 30, quarter));
    }

    private static long ms(long from, long to) {
        return (to - from) / 1_000_000;
    }

    /** Blocks until the daemon has stopped (leave, shutdown, removal). */
    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    public NodeConfig config() { return config; }

    public List<NodeView> nodes() { return map.snapshot(clock.millis()); }

    // --- jobs ---------------------------------------------------------------

    private java.util.Collection<io.herd.scheduler.HostView> hostViews() {
        List<io.herd.scheduler.HostView> out = new ArrayList<>();
        for (NodeView v : nodes()) out.add(HostViews.of(v));
        return out;
    }

    /** When the load vector this node holds for {@code host} was sampled there, in this node's clock; 0 if unknown. */
    private long sampledAt(String host) {
        for (NodeView v : nodes()) {
            if (v.name().equals(host)) return clock.millis() - (long) (v.lastHeardSeconds() * 1000);
        }
        return 0;
    }

    private ManagedChannel channelTo(String host) {
        if (host.equals(config.name())) return channels.computeIfAbsent(SELF, a -> rpc.selfChannel());
        String addr = nodes().stream().filter(v -> v.name().equals(host)).map(NodeView::address).findFirst()
                .orElseThrow(() -> new IllegalStateException("no address known for node " + host));
        return channels.computeIfAbsent(addr, a -> NettyChannelBuilder.forTarget(a).sslContext(clientTls).overrideAuthority("herd")
                .keepAliveTime(10, TimeUnit.SECONDS).keepAliveTimeout(5, TimeUnit.SECONDS).build());
    }

    // --- gossip -------------------------------------------------------------

    private void publish() {
        LoadVector v = sampler.sample();
        if (leaving) v = v.withLeaving(true);
        long now = clock.millis();
        synchronized (gossip) {
            gossip.publishLocal(v, now);
            syncMapFromGossip(now);
        }
    }

    /**
     * Labels, the guest CPU cap, the policy or the lock changed: publish at once, so peers hear
     * it as news within the freshness bound (and homes stop or start offering guests here).
     */
    private void adminChanged() {
        sampler.setAdmin(admin.labels(), admin.guestCpusInForce());
        publish();
    }

    private void syncMapFromGossip(long now) {
        gossip.view().forEach((name, e) -> map.learned(e.vector(), e.publishedAtMillis()));
        // Fresh loads may show capacity (another home's job ended, a node joined): let waiting jobs look.
        if (jobs != null) jobs.capacityChanged();
    }

    private void sampleSafely() {
        try {
            publish();
        } catch (RuntimeException e) {
            log.warn("load sampling failed: {}", e.toString());
        }
    }

    /** Logs, once per stall, that the timer thread has not run for a while, and where it is. */
    private void checkTimer() {
        timerStall.check(System.nanoTime()).ifPresent(nanos -> log.warn("{} (peers will soon see this node as suspect)",
                StallWatch.report("gossip and load sampling", nanos, timerThread)));
    }

    private void gossipSafely() {
        timerStall.beat(System.nanoTime());
        try {
            List<String> members = membership.members();
            if (!members.equals(lastMembers)) {
                lastMembers = members;
                map.viewChanged(members);
            }
            List<String> peers = new ArrayList<>(members);
            peers.remove(config.name());
            List<GossipEngine.Outgoing> out;
            synchronized (gossip) {
                out = gossip.tick(clock.millis(), peers);
            }
            for (GossipEngine.Outgoing o : out) membership.send(o.destination(), Membership.Kind.GOSSIP, o.payload());
        } catch (RuntimeException e) {
            log.warn("gossip round failed: {}", e.toString());
        }
    }

    /** When to measure the speed again after start (only if the CPU is mostly idle then). */
    private static final long[] RECALIBRATE_AFTER_SECONDS = {10, 60, 300};

    /**
     * The start-time benchmark often runs while the cores are busy (a machine
     * booting, several daemons starting on one box) and then reads low. Measure
     * again a few times when the machine is quiet and keep the best figure.
     */
    private void recalibrateSafely() {
        try {
            LoadVector now = sampler.sample();
            if (now.cpuPercent() > 30) {
                log.debug("skipped speed recalibration: CPU {}% busy", Math.round(now.cpuPercent()));
                return;
            }
            double before = sampler.speed();
            double after = sampler.improveSpeed(io.herd.gossip.SpeedBenchmark.measure(options.speedBudget()));
            speed = after;
            if (after > before) log.info("speed recalibrated: {} -> {}", String.format("%.2f", before), String.format("%.2f", after));
        } catch (RuntimeException e) {
            log.warn("speed recalibration failed: {}", e.toString());
        }
    }

    private void savePeersSafely() {
        try {
            List<String> peers = map.knownAddresses();
            if (!peers.equals(lastPeers)) {
                Files.write(dir.peers(), peers);
                lastPeers = peers;
            }
        } catch (IOException | RuntimeException e) {
            log.warn("could not save {}: {}", dir.peers(), e.toString());
        }
    }

    private List<InetSocketAddress> initialHosts() throws IOException {
        Set<String> addrs = new LinkedHashSet<>();
        if (Files.exists(dir.peers())) addrs.addAll(Files.readAllLines(dir.peers()));
        List<InetSocketAddress> out = new ArrayList<>();
        for (String a : addrs) {
            a = a.trim();
            int colon = a.lastIndexOf(':');
            if (a.isEmpty() || colon < 0) continue;
            try {
                out.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1)) + 1));
            } catch (RuntimeException e) {
                log.warn("ignoring bad peer address '{}' in {}", a, dir.peers());
            }
        }
        return out;
    }

    private final class MembershipListener implements Membership.Listener {
        @Override
        public void viewChanged(List<String> members) {
            lastMembers = members;
            map.viewChanged(members);
            // A node that was away may have missed a revocation: the CA re-announces the current CRL.
            if (ca != null && revocations.current() != null && membership != null) {
                byte[] crl = revocations.currentDer();
                timer.execute(() -> membership.broadcast(Membership.Kind.NOTICE,
                        Notice.newBuilder().setCrl(CrlUpdate.newBuilder().setCrlDer(ByteString.copyFrom(crl))).build().toByteArray()));
            }
        }

        @Override
        public void received(Membership.Kind kind, String from, byte[] payload) {
            switch (kind) {
                case GOSSIP -> {
                    long now = clock.millis();
                    synchronized (gossip) {
                        gossip.receive(payload, now);
                        syncMapFromGossip(now);
                    }
                }
                case NOTICE -> onNotice(from, payload);
            }
        }
    }

    private void onNotice(String from, byte[] payload) {
        Notice n;
        try {
            n = Notice.parseFrom(payload);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            log.warn("bad notice from {}: {}", from, e.getMessage());
            return;
        }
        switch (n.getKindCase()) {
            case LEAVING -> {
                log.info("node {} is leaving", n.getLeaving().getNodeName());
                map.leaving(n.getLeaving().getNodeName());
            }
            case REVOKED -> applyCrl(n.getRevoked().getCrlDer().toByteArray(), n.getRevoked().getNodeName());
            case CRL -> applyCrl(n.getCrl().getCrlDer().toByteArray(), null);
            default -> log.debug("ignored notice {} from {}", n.getKindCase(), from);
        }
    }

    /** Applies a CRL (only if the CA signed it and it is newer); acts on a named revoked node. */
    private void applyCrl(byte[] der, String revokedNode) {
        try {
            X509CRL crl = (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
            boolean changed = revocations.update(crl);
            if (revocations.isRevoked(identity.certificate())) {
                log.warn("this node's certificate was revoked: it has been removed from the cluster; stopping");
                timer.execute(() -> shutdown(false));
                return;
            }
            if (revokedNode != null) forgetRevoked(revokedNode);
            if (changed) log.info("installed CRL #{} ({} revoked)", revocations.number(),
                    crl.getRevokedCertificates() == null ? 0 : crl.getRevokedCertificates().size());
        } catch (Exception e) {
            log.warn("rejected a CRL notice: {}", e.toString());
        }
    }

    /**
     * Drops a revoked node from the map at once. Its existing membership
     * connections are cut a moment later, so the revocation notice still reaches
     * it and a well-behaved daemon stops by itself; new connections from it are
     * refused immediately anyway (the trust managers check the CRL).
     */
    private void forgetRevoked(String name) {
        map.removed(name);
        synchronized (gossip) {
            gossip.forget(name);
        }
        timer.schedule(() -> membership.cutOff(name), REVOKE_GRACE_MILLIS, TimeUnit.MILLISECONDS);
    }

    private static final long REVOKE_GRACE_MILLIS = 2000;

    // --- control channel ----------------------------------------------------

    private ControlReply handleControl(ControlRequest req, Caller caller) {
        return switch (req.getKindCase()) {
            case STATUS -> ControlReply.newBuilder().setStatus(StatusReply.newBuilder()
                    .setNodeName(config.name()).setClusterName(config.cluster()).setGrpcAddress(config.grpcAddress())
                    .setMembershipAddress(config.advertiseHost() + ":" + config.membershipPort())
                    .setPid(ProcessHandle.current().pid()).setVersion(Version.get()).setHoldsCa(ca != null)
                    .setMembers(membership.members().size())
                    .setUptimeMillis(clock.millis() - startedAt).setSpeed(speed)
                    .setGossipBytesSent(gossip.bytesSent()).setGossipMessagesSent(gossip.messagesSent())
                    .setTransportBytesSent(membership.traffic().bytesSent())
                    .setTransportBytesReceived(membership.traffic().bytesReceived())
                    .setStagedBytesReceived(transfers.bytesReceived()).setStagedBytesSent(transfers.bytesSent())
                    .setStoreBytes(store.usedBytes())).build();
            case NODES -> {
                NodesReply.Builder b = NodesReply.newBuilder();
                for (NodeView v : nodes()) b.addNodes(toInfo(v));
                yield ControlReply.newBuilder().setNodes(b).build();
            }
            case TOKEN -> token(req.getToken().getTtlSeconds(), req.getToken().getUses(), caller);
            case LEAVE -> {
                if (!caller.admin()) yield notAdmin("herd leave", caller);
                leaveGracefully();
                ControlServer.afterReply(() -> shutdown(false));
                yield ack("node " + config.name() + " left the cluster; its daemon stops now");
            }
            case REMOVE_NODE -> removeNode(req.getRemoveNode().getNodeName(), caller);
            case SHUTDOWN -> {
                if (!caller.admin()) yield notAdmin("shutdown", caller);
                ControlServer.afterReply(() -> shutdown(false));
                yield ack("stopping");
            }
            case SUBMIT, PS, WAIT, CANCEL, INPUT, LOGS, HISTORY, SUBMIT_ARRAY -> jobControl.handle(req, caller);
            case LABEL -> admin.handle(req.getLabel(), caller);
            case POLICY -> admin.handle(req.getPolicy(), caller);
            case LOCK -> admin.handle(req.getLock(), caller);
            case EXPEL -> {
                if (!caller.admin()) yield notAdmin("herd expel", caller);
                String why = req.getExpel().getReason().isBlank() ? "expelled by " + caller.user()
                        : "expelled by " + caller.user() + ": " + req.getExpel().getReason();
                List<String> evicted = hostJobs.evictAll("evicted: " + why);
                yield ack(evicted.isEmpty() ? "no guests to expel on " + config.name()
                        : "evicted " + evicted.size() + " guest" + (evicted.size() == 1 ? "" : "s") + " from " + config.name()
                                + " (their home nodes place them again): " + String.join(" ", evicted));
            }
            case HOME -> jobControl.handle(req, caller);
            case KIND_NOT_SET -> ControlServer.error("empty request: this herd CLI and daemon may be of different versions", 2);
        };
    }

    private static ControlReply ack(String msg) {
        return ControlReply.newBuilder().setAck(Ack.newBuilder().setMessage(msg)).build();
    }

    static ControlReply notAdmin(String what, Caller caller) {
        return ControlServer.error(what + " needs an admin of this node (root, the daemon's user or group '"
                + Caller.ADMIN_GROUP + "'); you are " + caller.user(), 77);
    }

    private ControlReply token(long ttlSeconds, int uses, Caller caller) {
        if (!caller.admin()) return notAdmin("herd token", caller);
        if (ca == null) {
            return ControlServer.error("this node does not hold the cluster CA; run `herd token` on the node that ran `herd init`"
                    + (config.caNodeHint().isEmpty() ? "" : " (" + config.caNodeHint() + ")"), 2);
        }
        if (ttlSeconds <= 0) ttlSeconds = 3600;
        if (uses <= 0) uses = 1;
        JoinToken t = ca.createToken(Duration.ofSeconds(ttlSeconds), uses, clock.instant());
        String cmd = "herd join " + config.grpcAddress() + " --token " + t.encode();
        return ControlReply.newBuilder().setToken(TokenReply.newBuilder().setJoinCommand(cmd).setToken(t.encode())
                .setExpiresEpochSeconds(t.expires().getEpochSecond())).build();
    }

    private ControlReply removeNode(String name, Caller caller) {
        if (!caller.admin()) return notAdmin("herd node remove", caller);
        if (name.equals(config.name())) {
            return ControlServer.error("refusing to remove this node itself; use `herd leave` here, or remove it from another node", 2);
        }
        try {
            RevokeNodeReply r;
            if (ca != null) {
                r = revokeHere(name, "local admin " + caller.user());
            } else {
                r = revokeViaCa(name, caller.user());
                applyCrl(r.getCrlDer().toByteArray(), name);
            }
            return ack("removed node " + name + ": its certificate (serial " + r.getRevokedSerial()
                    + ") is revoked and it can no longer rejoin with it");
        } catch (IllegalArgumentException e) {
            return ControlServer.error(e.getMessage(), 2);
        } catch (io.grpc.StatusRuntimeException e) {
            return ControlServer.error("could not remove " + name + ": " + e.getStatus().getDescription(), 1);
        }
    }

    private RevokeNodeReply revokeHere(String name, String requestedBy) {
        X509CRL crl = ca.revoke(name, clock.instant());
        revocations.update(crl);
        byte[] der;
        try {
            der = crl.getEncoded();
        } catch (java.security.cert.CRLException e) {
            throw new IllegalStateException(e);
        }
        log.warn("revoked node {} (requested by {})", name, requestedBy);
        membership.broadcast(Membership.Kind.NOTICE, Notice.newBuilder()
                .setRevoked(Revoked.newBuilder().setNodeName(name).setCrlDer(ByteString.copyFrom(der))).build().toByteArray());
        forgetRevoked(name);
        String serial = ca.issued().stream().filter(c -> c.name().equals(name) && c.revokedOrNull() != null)
                .reduce((a, b) -> b).map(c -> c.serial().toString(16)).orElse("?");
        return RevokeNodeReply.newBuilder().setCrlDer(ByteString.copyFrom(der)).setRevokedSerial(serial).build();
    }

    private RevokeNodeReply revokeViaCa(String name, String user) throws IllegalArgumentException {
        String caAddr = config.caAddress();
        if (caAddr.isEmpty()) {
            throw new IllegalArgumentException("this node does not know which node holds the cluster CA; run `herd node remove` there");
        }
        ManagedChannel ch = NettyChannelBuilder.forTarget(caAddr)
                .sslContext(TlsContexts.grpcClient(identity, revocations)).overrideAuthority("herd").build();
        try {
            return NodeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .revokeNode(RevokeNodeRequest.newBuilder().setNodeName(name).setRequestedBy(user + "@" + config.name()).build());
        } finally {
            ch.shutdownNow();
        }
    }

    private static NodeInfo toInfo(NodeView v) {
        return NodeInfo.newBuilder().setName(v.name()).setAddress(v.address()).setState(v.state()).setCores(v.cores())
                .setSpeed(v.speed()).setLoad(v.load()).setCpuPercent(v.cpuPercent()).setMemFreeBytes(v.memFreeBytes())
                .setMemTotalBytes(v.memTotalBytes()).setSwapFreeBytes(v.swapFreeBytes()).setSwapTotalBytes(v.swapTotalBytes())
                .setOwnerIdleSeconds(v.ownerIdleSeconds()).setOwnerPresent(v.ownerPresent()).setGuestJobs(v.guestJobs())
                .setGuestSlots(v.guestSlots()).setSandbox(v.sandbox()).setVersion(v.version())
                .setLastHeardSeconds(v.lastHeardSeconds()).setSelf(v.self()).addAllLabels(v.labels())
                .setGuestCpus(v.guestCpus()).setGuests(v.guests()).setGuestsReason(v.guestsReason())
                .setPolicyStamp(v.policyStamp()).build();
    }

    // --- gRPC backend -------------------------------------------------------

    private final class RpcBackend implements NodeRpcServer.Backend {
        @Override
        public JoinReply join(JoinRequest r, String remote) {
            if (ca == null) {
                throw Status.FAILED_PRECONDITION.withDescription("node " + config.name()
                        + " does not hold the cluster CA; join through the node that ran `herd init`").asRuntimeException();
            }
            X509Certificate cert;
            try {
                cert = ca.redeem(r.getTokenId(), r.getTokenSecret().toByteArray(), r.getNodeName(), r.getCsrDer().toByteArray(),
                        clock.instant());
            } catch (JoinRefusedException e) {
                log.warn("refused join of '{}' from {}: {}", r.getNodeName(), remote, e.getMessage());
                Status s = switch (e.reason()) {
                    case NAME_IN_USE -> Status.ALREADY_EXISTS;
                    case BAD_NAME, BAD_CSR -> Status.INVALID_ARGUMENT;
                    default -> Status.PERMISSION_DENIED;
                };
                throw s.withDescription(e.getMessage()).asRuntimeException();
            }
            log.info("node {} joined from {} (advertises {})", r.getNodeName(), remote, r.getGrpcAddress());
            List<String> addrs = new ArrayList<>(map.knownAddresses());
            if (!addrs.contains(config.grpcAddress())) addrs.add(0, config.grpcAddress());
            try {
                return JoinReply.newBuilder().setNodeCertDer(ByteString.copyFrom(cert.getEncoded()))
                        .setCaCertDer(ByteString.copyFrom(ca.certificate().getEncoded()))
                        .setCrlDer(ByteString.copyFrom(ca.currentCrl().getEncoded()))
                        .setClusterName(config.cluster()).addAllMemberGrpcAddresses(addrs)
                        .setCaNodeName(config.name()).setCaNodeAddress(config.grpcAddress()).build();
            } catch (java.security.GeneralSecurityException e) {
                throw Status.INTERNAL.withDescription("encoding certificates: " + e).asRuntimeException();
            }
        }

        @Override
        public RevokeNodeReply revoke(RevokeNodeRequest r, String peer) {
            if (ca == null) throw Status.FAILED_PRECONDITION.withDescription("this node does not hold the cluster CA").asRuntimeException();
            if (r.getNodeName().equals(config.name())) {
                throw Status.INVALID_ARGUMENT.withDescription("the node holding the CA cannot be removed").asRuntimeException();
            }
            try {
                return revokeHere(r.getNodeName(), r.getRequestedBy() + " via " + peer);
            } catch (IllegalArgumentException e) {
                throw Status.NOT_FOUND.withDescription(e.getMessage()).asRuntimeException();
            }
        }

        @Override
        public byte[] crl() {
            return revocations.currentDer() == null ? new byte[0] : revocations.currentDer();
        }

        @Override
        public String nodeName() { return config.name(); }

        @Override
        public String version() { return Version.get(); }
    }

    // --- stopping -----------------------------------------------------------

    /** Announces the leave, then leaves the membership view (the others see it gone at once). */
    public void leaveGracefully() {
        leaving = true;
        try {
            publish();
            // Waits until every member has the notice: once this node is out of
            // their view they would drop it, and show the node dead, not left.
            membership.broadcastAndWait(Membership.Kind.NOTICE, Notice.newBuilder()
                    .setLeaving(Leaving.newBuilder().setNodeName(config.name())).build().toByteArray());
        } catch (RuntimeException e) {
            log.warn("could not announce leave: {}", e.toString());
        }
        membership.close();
        log.info("left the cluster");
    }

    public void shutdown(boolean leaveFirst) {
        if (!closing.compareAndSet(false, true)) return;
        try {
            if (watchdog != null) watchdog.shutdownNow();
            if (leaveFirst && membership != null && !leaving) leaveGracefully();
            if (control != null) control.close();
            if (membership != null) membership.close();
            if (owner != null) owner.close();
            if (jobs != null) jobs.close();
            if (rpc != null) rpc.close();
            if (hostJobs != null) hostJobs.close();
            if (admin != null) admin.close();
            if (cgroups != null) cgroups.removeAll();
            channels.values().forEach(ManagedChannel::shutdownNow);
            if (journal != null) journal.close();
            if (ca != null) ca.close();
            if (timer != null) timer.shutdownNow();
            Files.deleteIfExists(dir.pidFile());
        } catch (Exception e) {
            log.warn("error while stopping: {}", e.toString());
        } finally {
            stopped.countDown();
        }
    }

    @Override
    public void close() {
        shutdown(true);
    }
}
