package io.herd.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.api.Caller;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.LabelRequest;
import io.herd.api.proto.LockRequest;
import io.herd.api.proto.PolicyRequest;
import io.herd.executor.Cgroups;
import io.herd.gossip.GuestAccess;
import io.herd.policy.Labels;
import io.herd.policy.OwnerLock;
import io.herd.policy.Policy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
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
        assertThat(a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettingsList().stream().filter(s -> s.getKey().equals("guest-cpus")).findFirst().orElseThrow().getValue())
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
        var show = a.handle(PolicyRequest.getDefaultInstance(), ADMIN).getPolicy().getSettingsList().stream().filter(s -> s.getKey().equals("guest-cpus")).findFirst().orElseThrow();
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
    void guestIoWithoutAnIoControllerIsAClearErrorAndTheDefaultShowsNotInForce() throws IOException {
        NodeAdmin a = admin(fakeV1());   // cpu only: no blkio
        var show = a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettingsList().stream()
                .filter(s -> s.getKey().equals("guest-io")).findFirst().orElseThrow();
        assertThat(show.getValue()).isEqualTo("50MB/s");
        assertThat(show.getNote()).isEqualTo("not in force: cgroup v1 without the blkio controller mounted; guest-io needs "
                + "cgroup v2 with the io controller or cgroup v1 blkio throttling; set guest-io none to run guests without a disk cap");
        ControlReply r = a.handle(set("guest-io", "20MB/s"), ADMIN);
        assertThat(r.getError().getExitCode()).isEqualTo(1);
        assertThat(r.getError().getMessage()).isEqualTo("cannot cap the guests' disk I/O on n1: cgroup v1 without the blkio "
                + "controller mounted; guest-io needs cgroup v2 with the io controller or cgroup v1 blkio throttling; set "
                + "guest-io none to run guests without a disk cap; nothing was changed");
        assertThat(Files.exists(data.resolve(Policy.FILE))).isFalse();
        assertThat(a.handle(set("guest-io", "none"), ADMIN).hasError()).isFalse();
        assertThat(a.policy().guestIo()).isZero();
        assertThat(a.handle(set("owner-mem-reserve", "lots"), ADMIN).getError().getMessage())
                .startsWith("owner-mem-reserve must be a size such as 4G or a share of RAM");
    }

    @Test
    void aStoredCapTheMachineCannotEnforceIsShownAsNotInForce() throws IOException {
        new Policy(0.5).save(data.resolve(Policy.FILE));
        NodeAdmin a = admin(Cgroups.none("no cgroup or cgroup2 file system is mounted"));
        assertThat(a.guestCpusInForce()).as("gossip tells the truth: no cap").isZero();
        var show = a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettingsList().stream().filter(s -> s.getKey().equals("guest-cpus")).findFirst().orElseThrow();
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

    private NodeAdmin admin(Clock clock) throws IOException {
        NodeAdmin a = new NodeAdmin("n1", data, Cgroups.none("test"), changes::incrementAndGet, clock);
        a.start();
        return a;
    }

    private static final Clock MONDAY_NOON = Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneId.of("UTC"));

    @Test
    void lockStopsGuestsAtOnceSurvivesARestartAndUnlockLendsAgain() throws IOException {
        NodeAdmin a = admin(MONDAY_NOON);
        assertThat(a.decisionNow().accepting()).isTrue();
        assertThat(a.guestAccess(-1).accepting()).isTrue();
        ControlReply r = a.handle(LockRequest.newBuilder().setReason("backup running").build(), ADMIN);
        assertThat(r.getAck().getMessage())
                .isEqualTo("locked n1: it takes no new guests until `herd unlock`; guests already running go on");
        assertThat(changes).as("gossiped at once").hasValue(1);
        assertThat(a.decisionNow().reason()).isEqualTo("locked by the owner (backup running)");
        GuestAccess g = a.guestAccess(-1);
        assertThat(g.closed()).isEqualTo("locked");
        assertThat(g.reason()).isEqualTo("backup running");
        assertThat(a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getAccepting())
                .isEqualTo("locked by the owner (backup running)");

        NodeAdmin restarted = admin(MONDAY_NOON);
        assertThat(restarted.lock().locked()).isTrue();
        assertThat(restarted.lock().by()).isEqualTo("root");
        assertThat(restarted.lock().since()).isEqualTo(MONDAY_NOON.instant());
        assertThat(restarted.decisionNow().accepting()).isFalse();

        ControlReply u = restarted.handle(LockRequest.newBuilder().setUnlock(true).build(), ADMIN);
        assertThat(u.getAck().getMessage()).isEqualTo("unlocked n1; it takes guests again");
        assertThat(restarted.decisionNow().accepting()).isTrue();
        assertThat(OwnerLock.load(data.resolve(OwnerLock.FILE)).locked()).isFalse();
        assertThat(restarted.handle(LockRequest.newBuilder().setUnlock(true).build(), ADMIN).getAck().getMessage())
                .isEqualTo("n1 was not locked; it takes guests again");
    }

    @Test
    void onlyAnAdminLocksAndABadReasonChangesNothing() throws IOException {
        NodeAdmin a = admin(MONDAY_NOON);
        ControlReply r = a.handle(LockRequest.getDefaultInstance(), USER);
        assertThat(r.getError().getExitCode()).isEqualTo(77);
        assertThat(r.getError().getMessage()).startsWith("herd lock needs an admin of this node");
        assertThat(a.handle(LockRequest.newBuilder().setUnlock(true).build(), USER).getError().getMessage())
                .startsWith("herd unlock needs an admin");
        ControlReply bad = a.handle(LockRequest.newBuilder().setReason("line one\nline two").build(), ADMIN);
        assertThat(bad.getError().getMessage())
                .isEqualTo("the reason must be one line of text without control characters; nothing was changed");
        assertThat(a.handle(LockRequest.newBuilder().setReason("x".repeat(201)).build(), ADMIN).getError().getMessage())
                .startsWith("the reason has 201 characters; at most 200");
        assertThat(Files.exists(data.resolve(OwnerLock.FILE))).isFalse();
        assertThat(a.decisionNow().accepting()).isTrue();
        assertThat(changes).hasValue(0);
    }

    @Test
    void acceptRulesAreDecidedOnTheInjectedClockAndAStampFollowsThePolicy() throws IOException {
        NodeAdmin a = admin(MONDAY_NOON);
        long stamp = a.policyStamp();
        assertThat(stamp).isBetween(1L, GuestAccess.MAX_POLICY_STAMP);
        ControlReply r = a.handle(set("accept", "windows Mon-Fri 19:00-08:00; Sat-Sun"), ADMIN);
        assertThat(r.getPolicy().getMessage()).isEqualTo("accept of n1: windows Mon-Fri 19:00-08:00; Sat-Sun");
        assertThat(changes).as("a new policy is gossiped at once").hasValue(1);
        assertThat(a.policyStamp()).isNotEqualTo(stamp);
        GuestAccess g = a.guestAccess(-1);
        assertThat(g.closed()).isEqualTo("window");
        assertThat(g.reason()).isEqualTo("next opens Mon 19:00");
        assertThat(a.decisionNow().reason()).isEqualTo("outside the owner's windows (next opens Mon 19:00)");

        a.handle(set("guest-mem-max", "1G"), ADMIN);
        var memDefault = a.handle(PolicyRequest.getDefaultInstance(), USER).getPolicy().getSettingsList().stream()
                .filter(x -> x.getKey().equals("guest-mem-default")).findFirst().orElseThrow();
        assertThat(memDefault.getValue()).isEqualTo("2G");
        assertThat(memDefault.getNote()).isEqualTo("capped at 1G by guest-mem-max");
                a.handle(set("accept", "when-idle 10m"), ADMIN);
        assertThat(a.guestAccess(120).closed()).isEqualTo("idle-wait");
        assertThat(a.decisionNow().reason()).as("the last sampled idle time")
                .isEqualTo("owner active 2 min ago; accepts after 10 min idle");
        assertThat(a.guestAccess(600).accepting()).isTrue();
        assertThat(a.decisionNow().accepting()).isTrue();
    }

    @Test
    void theOwnersMemoryReserveIsGossipedWhetherOrNotTheNodeTakesGuests() throws IOException {
        NodeAdmin a = admin(MONDAY_NOON);
        long total = new io.herd.owner.Pressure(java.nio.file.Path.of("/proc")).memTotal();
        assertThat(a.guestAccess(-1).ownerMemReserveBytes()).as("the default, 25%").isEqualTo(total * 25 / 100);
        a.handle(set("owner-mem-reserve", "1G"), ADMIN);
        assertThat(a.guestAccess(-1).ownerMemReserveBytes()).isEqualTo(Math.min(1L << 30, total));
        a.handle(LockRequest.newBuilder().setReason("backup").build(), ADMIN);
        assertThat(a.guestAccess(-1).closed()).isEqualTo("locked");
        assertThat(a.guestAccess(-1).ownerMemReserveBytes()).isEqualTo(Math.min(1L << 30, total));
    }

    @Test
    void aBadPolicyValueNeverChangesTheStoredFile() throws IOException {
        NodeAdmin a = admin(MONDAY_NOON);
        a.handle(set("deny-users", "mallory"), ADMIN);
        String before = Files.readString(data.resolve(Policy.FILE));
        int announced = changes.get();
        for (String[] kv : new String[][] {{"accept", "sometimes"}, {"accept", "windows Mon 25:00-26:00"},
                {"accept", "when-idle ten"}, {"guest-mem-max", "huge"}, {"deny-users", "a;b"}, {"allow-nodes", "-x"},
                {"no-such-key", "1"}}) {
            ControlReply r = a.handle(set(kv[0], kv[1]), ADMIN);
            assertThat(r.getError().getExitCode()).as(kv[0] + " " + kv[1]).isEqualTo(2);
            assertThat(r.getError().getMessage()).endsWith("; nothing was changed");
            assertThat(Files.readString(data.resolve(Policy.FILE))).isEqualTo(before);
        }
        assertThat(a.policy().denyUsers()).containsExactly("mallory");
        assertThat(changes).hasValue(announced);
    }
}
