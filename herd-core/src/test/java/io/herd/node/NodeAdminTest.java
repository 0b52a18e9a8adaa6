package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.api.Caller;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.LabelRequest;
import io.herd.api.proto.PolicyRequest;
import io.herd.executor.Cgroups;
import io.herd.policy.Labels;
import io.herd.policy.Policy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon side of herd label and herd policy, against a fake cgroup tree or none. */
class NodeAdminTest {

    private static final Caller ADMIN = new Caller("root", "root", true);
    private static final Caller USER = new Caller("ann", "ann", false);

    @TempDir Path data;
    @TempDir Path cgroupRoot;
    private final AtomicInteger changes = new AtomicInteger();

    private NodeAdmin admin(Cgroups cgroups) throws IOException {
        NodeAdmin a = new NodeAdmin("n1", data, cgroups, changes::incrementAndGet);
        a.start();
        return a;
    }

    private Cgroups fakeV1() throws IOException {
        Files.createDirectories(cgroupRoot.resolve("cpu"));
        return new Cgroups(cgroupRoot, Cgroups.Version.V1, "herd-n1");
    }

    private Path quotaFile() {
        return cgroupRoot.resolve("cpu/herd-n1/guests/cpu.cfs_quota_us");
    }

    private static LabelRequest label(LabelRequest.Op op, String... names) {
        return LabelRequest.newBuilder().setOp(op).addAllNames(List.of(names)).build();
    }

    private static PolicyRequest set(String key, String value) {
        return PolicyRequest.newBuilder().setKey(key).setValue(value).build();
    }

    @Test
    void labelsAreAddedRemovedStoredAndAnnounced() throws IOException {
        NodeAdmin a = admin(Cgroups.none("test"));
        ControlReply r = a.handle(label(LabelRequest.Op.ADD, "fast", "gpu"), ADMIN);
        assertThat(r.hasError()).as(r.toString()).isFalse();
        assertThat(r.getLabels().getMessage()).isEqualTo("labels of n1: fast,gpu");
        assertThat(a.labels()).containsExactly("fast", "gpu");
        assertThat(changes).hasValue(1);
        assertThat(a.handle(label(LabelRequest.Op.ADD, "fast"), ADMIN).hasError()).isFalse();
        assertThat(changes).as("no change, no announcement").hasValue(1);
        a.handle(label(LabelRequest.Op.REMOVE, "gpu"), ADMIN);
        assertThat(a.labels()).containsExactly("fast");
        assertThat(changes).hasValue(2);
        assertThat(a.handle(label(LabelRequest.Op.LIST), USER).getLabels().getLabelsList()).containsExactly("fast");

        // A restarted daemon has them back.
        NodeAdmin again = admin(Cgroups.none("test"));
        assertThat(again.labels()).containsExactly("fast");
    }

    @Test
    void anInvalidLabelIsAnErrorAndChangesNothing() throws IOException {
        NodeAdmin a = admin(Cgroups.none("test"));
        a.handle(label(LabelRequest.Op.ADD, "fast"), ADMIN);
        String before = Files.readString(data.resolve(Labels.FILE));
        ControlReply r = a.handle(label(LabelRequest.Op.ADD, "gpu", "Big Box"), ADMIN);
        assertThat(r.getError().getExitCode()).isEqualTo(2);
        assertThat(r.getError().getMessage()).isEqualTo("invalid label 'Big Box': a label is " + Labels.RULE
                + ", e.g. fast or gpu.a100; nothing was changed");
        assertThat(r.getError().getMessage()).doesNotContain("\n");
        assertThat(a.labels()).containsExactly("fast");
        assertThat(Files.readString(data.resolve(Labels.FILE))).isEqualTo(before);
        assertThat(changes).hasValue(1);
    }

    @Test
    void changingNeedsAnAdminButReadingDoesNot() throws IOException {
        NodeAdmin a = admin(fakeV1());
        ControlReply r = a.handle(label(LabelRequest.Op.ADD, "fast"), USER);
        assertThat(r.getError().getExitCode()).isEqualTo(77);
        assertThat(r.getError().getMessage()).startsWith("herd label add needs an admin of this node");
        assertThat(a.handle(set("guest-cpus", "0.5"), USER).getError().getMessage())
                .startsWith("herd policy set needs an admin of this node");
        assertThat(a.labels()).isEmpty();
        assertThat(a.policy()).isEqualTo(Policy.DEFAULT);
        assertThat(Files.exists(data.resolve(Labels.FILE))).isFalse();
        assertThat(Files.exists(data.resolve(Policy.FILE))).isFalse();
        assertThat(Files.exists(quotaFile())).isFalse();
        assertThat(a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettings(0).getValue())
                .isEqualTo("unlimited");
    }

    @Test
    void guestCpusIsAppliedStoredAndAnnounced() throws IOException {
        NodeAdmin a = admin(fakeV1());
        ControlReply r = a.handle(set("guest-cpus", "0.5"), ADMIN);
        assertThat(r.hasError()).as(r.toString()).isFalse();
        assertThat(r.getPolicy().getMessage()).isEqualTo("guest-cpus of n1: 0.5");
        assertThat(quotaFile()).hasContent("50000");
        assertThat(a.guestCpusInForce()).isEqualTo(0.5);
        assertThat(Policy.load(data.resolve(Policy.FILE))).isEqualTo(new Policy(0.5));
        assertThat(changes).hasValue(1);
        var show = a.handle(PolicyRequest.getDefaultInstance(), ADMIN).getPolicy().getSettings(0);
        assertThat(show.getKey()).isEqualTo("guest-cpus");
        assertThat(show.getValue()).isEqualTo("0.5");
        assertThat(show.getNote()).isEmpty();

        a.handle(set("guest-cpus", "none"), ADMIN);
        assertThat(quotaFile()).hasContent("-1");
        assertThat(a.guestCpusInForce()).isZero();
        assertThat(Policy.load(data.resolve(Policy.FILE))).isEqualTo(Policy.DEFAULT);
        assertThat(changes).hasValue(2);
    }

    @Test
    void theStoredCapIsAppliedAtStartAndLiftedAtStop() throws IOException {
        new Policy(1.5).save(data.resolve(Policy.FILE));
        Cgroups cg = fakeV1();
        NodeAdmin a = admin(cg);
        assertThat(quotaFile()).hasContent("150000");
        assertThat(a.guestCpusInForce()).isEqualTo(1.5);
        a.close();
        // The fake tree holds plain files, so the parent cannot be removed; the cap is lifted anyway.
        assertThat(cg.guestCpuShare()).isEmpty();
    }

    @Test
    void withoutACpuControllerSetIsAClearErrorAndNothingIsStored() throws IOException {
        NodeAdmin a = admin(Cgroups.none("no cgroup or cgroup2 file system is mounted"));
        ControlReply r = a.handle(set("guest-cpus", "0.5"), ADMIN);
        assertThat(r.getError().getExitCode()).isEqualTo(1);
        assertThat(r.getError().getMessage()).isEqualTo("cannot cap the guests' CPU on n1: cgroups are not available on "
                + "this node (no cgroup or cgroup2 file system is mounted); guest-cpus needs cgroup v1 or v2 with the "
                + "cpu controller; " + NodeAdmin.CGROUP_ADVICE + "; nothing was changed");
        assertThat(Files.exists(data.resolve(Policy.FILE))).isFalse();
        assertThat(a.policy()).isEqualTo(Policy.DEFAULT);
        assertThat(a.guestCpusInForce()).isZero();
        assertThat(changes).hasValue(0);
        // Lifting a cap needs no cgroup.
        assertThat(a.handle(set("guest-cpus", "none"), ADMIN).hasError()).isFalse();
    }

    @Test
    void aStoredCapTheMachineCannotEnforceIsShownAsNotInForce() throws IOException {
        new Policy(0.5).save(data.resolve(Policy.FILE));
        NodeAdmin a = admin(Cgroups.none("no cgroup or cgroup2 file system is mounted"));
        assertThat(a.guestCpusInForce()).as("gossip tells the truth: no cap").isZero();
        var show = a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettings(0);
        assertThat(show.getValue()).isEqualTo("0.5");
        assertThat(show.getNote()).startsWith("not in force: cgroups are not available on this node");
    }

    @Test
    void aBadValueOrKeyIsAnErrorAndChangesNothing() throws IOException {
        NodeAdmin a = admin(fakeV1());
        a.handle(set("guest-cpus", "2"), ADMIN);
        ControlReply r = a.handle(set("guest-cpus", "lots"), ADMIN);
        assertThat(r.getError().getExitCode()).isEqualTo(2);
        assertThat(r.getError().getMessage()).startsWith("guest-cpus must be a number of cores from 0.01 to 4096")
                .endsWith("; nothing was changed");
        assertThat(a.handle(set("guest-cpu", "2"), ADMIN).getError().getMessage())
                .isEqualTo("unknown policy key 'guest-cpu'; known keys: " + String.join(", ", Policy.KEYS) + "; nothing was changed");
        assertThat(quotaFile()).hasContent("200000");
        assertThat(a.policy()).isEqualTo(new Policy(2));
    }
}
