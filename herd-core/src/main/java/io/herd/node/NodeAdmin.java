package io.herd.node;

import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.LabelReply;
import io.herd.api.proto.LabelRequest;
import io.herd.api.proto.LockRequest;
import io.herd.api.proto.PolicyReply;
import io.herd.api.proto.PolicyRequest;
import io.herd.api.proto.PolicySetting;
import io.herd.executor.Cgroups;
import io.herd.gossip.GuestAccess;
import io.herd.policy.Admission;
import io.herd.policy.Labels;
import io.herd.policy.OwnerLock;
import io.herd.policy.Policy;
import java.time.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin settings: its labels ({@code herd label}), its owner
 * policy ({@code herd policy}) and the owner's lock ({@code herd lock} /
 * {@code herd unlock}). Loads them from the data directory at start,
 * applies the policy (the guest CPU cap through {@link Cgroups}), answers the
 * control requests that change them, tells the daemon when what it
 * gossips has changed, and decides with {@link Admission} whether the node
 * takes guests now (for gossip and for the host's admission of each offer).
 *
 * <p>A change is all or nothing: it is validated, then applied to the
 * machine, then stored; if applying fails nothing is stored, and if storing
 * fails the previous setting is applied again. Reading is open to every
 * local user ({@code herd nodes} shows the same to anyone); changing needs an
 * admin of this node.
 */
public final class NodeAdmin {

    private static final Logger log = LoggerFactory.getLogger(NodeAdmin.class);

    /** What to do when the cgroup cannot take the cap: said after the reason. */
    static final String CGROUP_ADVICE = "run the daemon as root on a machine with the cpu cgroup controller "
            + "(cgroup v1, or v2 with cpu enabled), or delegate a cgroup to its user";

    private final String nodeName;
    private final Path labelsFile;
    private final Path policyFile;
    private final Cgroups cgroups;
    private final Runnable changed;
    private final Clock clock;
    private final Path lockFile;
    /** Differs between daemon lives, so a restarted node's policy stamp is new (its sandbox may differ). */
    private final long stampSalt = new java.security.SecureRandom().nextLong();
    /** The owner's idle seconds at the last sample (-1 = unknown); read by {@link #decisionNow}. */
    private volatile long lastIdleSeconds = -1;

    private Labels labels = Labels.NONE;
    private Policy policy = Policy.DEFAULT;
    private OwnerLock lock = OwnerLock.UNLOCKED;
    /** The cap the cgroup enforces now (0 = none); differs from the policy's only when applying it failed at start. */
    private double guestCpusInForce;
    /** Why the stored cap is not in force, or null. */
    private String notInForce;
    private boolean capApplied;

    /**
     * @param nodeName this node's name, for messages
     * @param dataDir  the node's data directory, where the settings files live
     * @param cgroups  the node's cgroups ({@link Cgroups#none} where there are none)
     * @param changed  called (outside any request's failure path) after labels, the cap in force,
     *                 the policy or the lock changed
     */
    public NodeAdmin(String nodeName, Path dataDir, Cgroups cgroups, Runnable changed) {
        this(nodeName, dataDir, cgroups, changed, Clock.systemDefaultZone());
    }

    /** @param clock the time and the time zone the owner's accept windows are read in */
    public NodeAdmin(String nodeName, Path dataDir, Cgroups cgroups, Runnable changed, Clock clock) {
        this.nodeName = nodeName;
        this.labelsFile = dataDir.resolve(Labels.FILE);
        this.policyFile = dataDir.resolve(Policy.FILE);
        this.lockFile = dataDir.resolve(OwnerLock.FILE);
        this.cgroups = Objects.requireNonNull(cgroups, "cgroups");
        this.changed = Objects.requireNonNull(changed, "changed");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Loads the stored settings and applies the policy. A cap the machine
     * cannot enforce is logged and shown by {@code herd policy show}; the
     * daemon still starts (and gossips no cap, which is the truth).
     *
     * @throws IllegalArgumentException when a settings file is invalid (naming it and what to do)
     * @throws IOException              when a settings file cannot be read
     */
    public synchronized void start() throws IOException {
        labels = Labels.load(labelsFile);
        policy = Policy.load(policyFile);
        lock = OwnerLock.load(lockFile);
        if (lock.locked()) log.info("locked by its owner {}{}: no new guests until `herd unlock`", lock.by(),
                lock.reason().isEmpty() ? "" : " (" + lock.reason() + ")");
        if (policy.capsGuestCpus()) {
            try {
                cgroups.setGuestCpuShare(policy.guestCpus());
                guestCpusInForce = policy.guestCpus();
                capApplied = true;
            } catch (UnsupportedOperationException | UncheckedIOException e) {
                notInForce = e.getMessage();
                log.warn("guest-cpus {} from {} is not in force: {}; {}", Policy.formatCores(policy.guestCpus()),
                        policyFile, e.getMessage(), CGROUP_ADVICE);
            }
        }
        applyGuestIoAndMemory(policy);
        if (!labels.names().isEmpty()) log.info("labels: {}", labels);
    }

    /** Why guest-io is not in force (no I/O controller), or null; shown by {@code herd policy show}. */
    private String ioNotInForce;
    private String memNotInForce;
    private boolean boundApplied;

    /**
     * Puts the policy's guest I/O budget and the guests' memory bound (RAM minus the owner's reserve)
     * in force. Best effort: what this node's cgroups cannot do is noted for {@code herd policy show}
     * and logged once; the pressure back-off still protects the owner.
     */
    private void applyGuestIoAndMemory(Policy p) {
        ioNotInForce = null;
        memNotInForce = null;
        try {
            cgroups.setGuestIo(p.guestIo());
        } catch (UnsupportedOperationException | UncheckedIOException e) {
            ioNotInForce = e.getMessage();
            log.info("guest-io {} is not in force: {}", p.settings().get("guest-io"), e.getMessage());
        }
        long total = memTotal();
        long bound = total <= 0 ? 0 : Math.max(0, total - p.ownerMemReserve().of(total));
        try {
            cgroups.setGuestsMemoryMax(bound == total ? 0 : bound);
            boundApplied |= bound > 0 && bound < total;
            if (bound > 0 && bound < total) {
                log.info("guests together bounded to {} of memory ({} kept for the owner)", io.herd.executor.ExitStatus.bytes(bound),
                        p.ownerMemReserve());
            }
        } catch (UnsupportedOperationException | UncheckedIOException e) {
            memNotInForce = e.getMessage();
            log.info("owner-mem-reserve {} is not a bound on the guests here: {}", p.ownerMemReserve(), e.getMessage());
        }
    }

    /** The node's labels, sorted. */
    public synchronized List<String> labels() {
        return labels.names();
    }

    /** The guest CPU cap the cgroup enforces now, in cores; 0 = none. */
    public synchronized double guestCpusInForce() {
        return guestCpusInForce;
    }

    /** The stored policy. */
    public synchronized Policy policy() {
        return policy;
    }

    /** The owner's lock. */
    public synchronized OwnerLock lock() {
        return lock;
    }

    /**
     * Whether the node takes guests, with the owner's idle time just sampled: what gossip
     * carries. Remembers the idle time for {@link #decisionNow}.
     */
    public GuestAccess guestAccess(long ownerIdleSeconds) {
        lastIdleSeconds = ownerIdleSeconds;
        Admission.Decision d = decide(ownerIdleSeconds);
        long total = memTotal();
        long reserve = total <= 0 ? 0 : policy().ownerMemReserve().of(total);
        if (d.accepting()) return new GuestAccess("", "", policyStamp(), reserve);
        return new GuestAccess(d.state().word(), GuestAccess.brief(d.brief()), policyStamp(), reserve);
    }

    private long memTotal;

    /** Physical memory, read once. */
    private long memTotal() {
        if (memTotal <= 0) memTotal = new io.herd.owner.Pressure(Path.of("/proc")).memTotal();
        return memTotal;
    }

    /** Whether the node takes guests now, with the owner's idle time of the last sample. */
    public Admission.Decision decisionNow() {
        return decide(lastIdleSeconds);
    }

    private Admission.Decision decide(long idleSeconds) {
        Policy p;
        OwnerLock l;
        synchronized (this) {
            p = policy;
            l = lock;
        }
        return Admission.decide(p, l, idleSeconds, clock.instant(), clock.getZone());
    }

    /**
     * A number that changes whenever the policy does (and at each daemon start): a home that
     * this policy refused a job need not offer it here again until it changes. 31 bits, never 0.
     */
    public synchronized long policyStamp() {
        long h = stampSalt ^ (policy.hashCode() * 0x9E3779B97F4A7C15L);
        h ^= h >>> 31;
        long stamp = h & GuestAccess.MAX_POLICY_STAMP;
        return stamp == 0 ? 1 : stamp;
    }

    /** Answers {@code herd lock} and {@code herd unlock} (admin only). */
    public ControlReply handle(LockRequest req, Caller caller) {
        String verb = req.getUnlock() ? "herd unlock" : "herd lock";
        String message;
        synchronized (this) {
            if (!caller.admin()) return Node.notAdmin(verb, caller);
            OwnerLock next;
            try {
                next = req.getUnlock() ? OwnerLock.UNLOCKED : OwnerLock.lockedBy(caller.user(), req.getReason(), clock.instant());
            } catch (IllegalArgumentException e) {
                return ControlServer.error(e.getMessage() + "; nothing was changed", 2);
            }
            if (req.getUnlock() && !lock.locked()) {
                return ack(nodeName + " was not locked; " + acceptingLine(decide(lastIdleSeconds)));
            }
            try {
                next.save(lockFile);
            } catch (IOException e) {
                return ControlServer.error("cannot store the lock in " + lockFile + " (" + e.getMessage()
                        + "); nothing was changed", 1);
            }
            log.info("{} by {}{}", req.getUnlock() ? "unlocked" : "locked", caller.user(),
                    next.reason().isEmpty() ? "" : ": " + next.reason());
            lock = next;
            message = req.getUnlock()
                    ? "unlocked " + nodeName + "; " + acceptingLine(decide(lastIdleSeconds))
                    : "locked " + nodeName + ": it takes no new guests until `herd unlock`; guests already running go on";
        }
        changed.run();
        return ack(message);
    }

    private static String acceptingLine(Admission.Decision d) {
        return d.accepting() ? "it takes guests again" : "it still takes no guests: " + d.reason();
    }

    private static ControlReply ack(String message) {
        return ControlReply.newBuilder().setAck(io.herd.api.proto.Ack.newBuilder().setMessage(message)).build();
    }

    /** Answers a {@code label} or {@code policy} control request. */
    public ControlReply handle(LabelRequest req, Caller caller) {
        ControlReply reply;
        boolean didChange;
        synchronized (this) {
            if (req.getOp() == LabelRequest.Op.LIST) return labelReply("");
            String verb = req.getOp() == LabelRequest.Op.ADD ? "add" : "rm";
            if (!caller.admin()) return Node.notAdmin("herd label " + verb, caller);
            if (req.getNamesCount() == 0) {
                return ControlServer.error("give at least one label: herd label " + verb + " NAME...", 2);
            }
            Labels next;
            try {
                next = req.getOp() == LabelRequest.Op.ADD ? labels.plus(req.getNamesList())
                        : labels.minus(req.getNamesList());
            } catch (IllegalArgumentException e) {
                return ControlServer.error(e.getMessage() + "; nothing was changed", 2);
            }
            didChange = !next.equals(labels);
            if (didChange) {
                try {
                    next.save(labelsFile);
                } catch (IOException e) {
                    return ControlServer.error("cannot store the labels in " + labelsFile + " (" + e.getMessage()
                            + "); nothing was changed", 1);
                }
                log.info("labels changed by {}: {} -> {}", caller.user(), labels, next);
                labels = next;
            }
            reply = labelReply("labels of " + nodeName + ": " + (labels.names().isEmpty() ? "(none)" : labels));
        }
        if (didChange) changed.run();
        return reply;
    }

    private ControlReply labelReply(String message) {
        return ControlReply.newBuilder().setLabels(LabelReply.newBuilder().addAllLabels(labels.names())
                .setMessage(message)).build();
    }

    /** Answers a {@code policy} control request: show (no key) or set one key. */
    public ControlReply handle(PolicyRequest req, Caller caller) {
        ControlReply reply;
        boolean didChange;
        synchronized (this) {
            if (req.getKey().isEmpty()) return policyReply("");
            if (!caller.admin()) return Node.notAdmin("herd policy set", caller);
            Policy next;
            try {
                next = policy.with(req.getKey(), req.getValue());
            } catch (IllegalArgumentException e) {
                return ControlServer.error(e.getMessage() + "; nothing was changed", 2);
            }
            double before = guestCpusInForce;
            try {
                applyCap(next.guestCpus());
            } catch (UnsupportedOperationException | UncheckedIOException e) {
                return ControlServer.error("cannot cap the guests' CPU on " + nodeName + ": " + e.getMessage()
                        + "; " + CGROUP_ADVICE + "; nothing was changed", 1);
            }
            if (req.getKey().equals("guest-io") || req.getKey().equals("owner-mem-reserve")) {
                applyGuestIoAndMemory(next);
                if (req.getKey().equals("guest-io") && ioNotInForce != null && next.guestIo() > 0) {
                    String why = ioNotInForce;
                    applyGuestIoAndMemory(policy);
                    return ControlServer.error("cannot cap the guests' disk I/O on " + nodeName + ": " + why
                            + "; nothing was changed", 1);
                }
            }
            try {
                next.save(policyFile);
            } catch (IOException e) {
                try {
                    applyCap(before);
                } catch (RuntimeException again) {
                    log.warn("could not restore guest-cpus {}: {}", before, again.toString());
                }
                return ControlServer.error("cannot store the policy in " + policyFile + " (" + e.getMessage()
                        + "); nothing was changed", 1);
            }
            log.info("policy changed by {}: {}={}", caller.user(), req.getKey(), next.settings().get(req.getKey()));
            didChange = Double.compare(before, guestCpusInForce) != 0 || !next.equals(policy);
            policy = next;
            notInForce = null;
            reply = policyReply(req.getKey() + " of " + nodeName + ": " + next.settings().get(req.getKey()));
        }
        if (didChange) changed.run();
        return reply;
    }

    /** Puts {@code cores} (0 = none) in force in the cgroup. */
    private void applyCap(double cores) {
        if (cores > 0) {
            cgroups.setGuestCpuShare(cores);
            capApplied = true;
        } else if (capApplied || guestCpusInForce > 0) {
            cgroups.clearGuestCpuShare();
        }
        guestCpusInForce = cores;
    }

    private ControlReply policyReply(String message) {
        Admission.Decision now = decide(lastIdleSeconds);
        PolicyReply.Builder b = PolicyReply.newBuilder().setMessage(message)
                .setAccepting(now.accepting() ? "yes" : now.reason());
        policy.settings().forEach((k, v) -> {
            PolicySetting.Builder s = PolicySetting.newBuilder().setKey(k).setValue(v);
            if (k.equals("guest-cpus") && notInForce != null) s.setNote("not in force: " + notInForce);
            if (k.equals("guest-io") && ioNotInForce != null && policy.guestIo() > 0) s.setNote("not in force: " + ioNotInForce);
            if (k.equals("owner-mem-reserve") && memNotInForce != null) s.setNote("no bound on the guests: " + memNotInForce);
            if (k.equals("guest-mem-default") && policy.guestMemMax() > 0
                    && policy.guestMemLimit(0) != policy.guestMemDefault()) {
                s.setNote("capped at " + Policy.formatSize(policy.guestMemMax()) + " by guest-mem-max");
            }
            b.addSettings(s);
        });
        return ControlReply.newBuilder().setPolicy(b).build();
    }

    /**
     * At daemon stop: lifts the cap this daemon set and removes the herd
     * cgroup parent when no job cgroup is left in it (the next start applies
     * the stored policy again). Best effort.
     */
    public synchronized void close() {
        if (!capApplied && !boundApplied) return;
        try {
            cgroups.clearGuestCpuShare();
            cgroups.removeParent();
        } catch (RuntimeException e) {
            log.debug("guest cgroup kept at stop: {}", e.toString());
        }
    }
}
