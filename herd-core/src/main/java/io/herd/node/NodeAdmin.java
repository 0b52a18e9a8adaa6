package io.herd.node;

import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.LabelReply;
import io.herd.api.proto.LabelRequest;
import io.herd.api.proto.PolicyReply;
import io.herd.api.proto.PolicyRequest;
import io.herd.api.proto.PolicySetting;
import io.herd.executor.Cgroups;
import io.herd.policy.Labels;
import io.herd.policy.Policy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's admin settings: its labels ({@code herd label}) and its owner
 * policy ({@code herd policy}). Loads them from the data directory at start,
 * applies the policy (the guest CPU cap through {@link Cgroups}), answers the
 * control requests that change them, and tells the daemon when what it
 * gossips has changed.
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

    private Labels labels = Labels.NONE;
    private Policy policy = Policy.DEFAULT;
    /** The cap the cgroup enforces now (0 = none); differs from the policy's only when applying it failed at start. */
    private double guestCpusInForce;
    /** Why the stored cap is not in force, or null. */
    private String notInForce;
    private boolean capApplied;

    /**
     * @param nodeName this node's name, for messages
     * @param dataDir  the node's data directory, where the settings files live
     * @param cgroups  the node's cgroups ({@link Cgroups#none} where there are none)
     * @param changed  called (outside any request's failure path) after labels or the cap in force changed
     */
    public NodeAdmin(String nodeName, Path dataDir, Cgroups cgroups, Runnable changed) {
        this.nodeName = nodeName;
        this.labelsFile = dataDir.resolve(Labels.FILE);
        this.policyFile = dataDir.resolve(Policy.FILE);
        this.cgroups = Objects.requireNonNull(cgroups, "cgroups");
        this.changed = Objects.requireNonNull(changed, "changed");
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
        if (!labels.names().isEmpty()) log.info("labels: {}", labels);
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
            didChange = Double.compare(before, guestCpusInForce) != 0;
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
        PolicyReply.Builder b = PolicyReply.newBuilder().setMessage(message);
        policy.settings().forEach((k, v) -> {
            PolicySetting.Builder s = PolicySetting.newBuilder().setKey(k).setValue(v);
            if (k.equals("guest-cpus") && notInForce != null) s.setNote("not in force: " + notInForce);
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
        if (!capApplied) return;
        try {
            cgroups.clearGuestCpuShare();
            cgroups.removeParent();
        } catch (RuntimeException e) {
            log.debug("guest cgroup kept at stop: {}", e.toString());
        }
    }
}
