package io.herd.executor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Guest disk I/O caps and the guests' memory bound against fake v1 and v2 trees and a fake /sys/block. */
class CgroupsIoTest {

    @TempDir
    Path root;
    @TempDir
    Path sysBlock;

    private void disk(String name, String dev) throws IOException {
        Files.writeString(Files.createDirectories(sysBlock.resolve(name)).resolve("dev"), dev + "\n");
    }

    private void disks() throws IOException {
        disk("vda", "254:0");
        disk("nvme0n1", "259:0");
        disk("dm-0", "253:1");
        disk("loop0", "7:0");
        disk("zram0", "252:0");
        disk("sr0", "11:0");
    }

    private Cgroups fakeV2(String controllers) throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), controllers + "\n");
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        Cgroups cg = new Cgroups(root, Cgroups.Version.V2, "herd-n1");
        cg.useBlockDevices(sysBlock);
        return cg;
    }

    private Cgroups fakeV1(boolean throttle) throws IOException {
        for (String c : new String[] {"freezer", "cpu", "memory", "pids", "blkio"}) Files.createDirectories(root.resolve(c));
        if (throttle) Files.writeString(root.resolve("blkio/blkio.throttle.write_bps_device"), "");
        else Files.writeString(root.resolve("blkio/blkio.weight"), "500\n");
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd-n1");
        cg.useBlockDevices(sysBlock);
        return cg;
    }

    @Test
    void devicesAreTheDisksNotLoopRamOrOptical() throws IOException {
        disks();
        Cgroups cg = fakeV2("io");
        assertThat(cg.ioDevices()).containsExactly("253:1", "254:0", "259:0");
    }

    /** The list is kept for a while (v1 re-splits the budget at every job's start and end), then read again. */
    @Test
    void aDiskAddedIsSeenOnceTheKeptListIsTooOld() throws IOException {
        disks();
        Cgroups cg = fakeV2("io");
        long[] now = {1_000_000_000L};
        cg.nanos = () -> now[0];
        assertThat(cg.ioDevices()).containsExactly("253:1", "254:0", "259:0");
        disk("sda", "8:0");
        now[0] += Cgroups.DEVICES_FRESH_NANOS - 1;
        assertThat(cg.ioDevices()).as("still fresh").containsExactly("253:1", "254:0", "259:0");
        now[0] += 1;
        assertThat(cg.ioDevices()).as("read again").containsExactly("253:1", "254:0", "259:0", "8:0");
    }

    @Test
    void v2CapsAllGuestsTogetherWithIoMaxOnTheirGroup() throws IOException {
        disks();
        Cgroups cg = fakeV2("cpu io memory pids");
        assertThat(cg.ioControl()).isEqualTo("io.max");
        cg.setGuestIo(50L << 20);
        Path ioMax = root.resolve("herd-n1/guests/io.max");
        long bps = 50L << 20;
        assertThat(Files.readAllLines(ioMax)).containsExactly("253:1 rbps=" + bps + " wbps=" + bps,
                "254:0 rbps=" + bps + " wbps=" + bps, "259:0 rbps=" + bps + " wbps=" + bps);
        assertThat(cg.guestIoInForce()).isEqualTo(bps);
        assertThat(root.resolve("herd-n1/cgroup.subtree_control")).hasContent("+cpu +memory +pids +io");

        // The back-off scales it; lifting the policy's cap keeps the back-off's share of 50 MB/s.
        Files.delete(ioMax);
        cg.setGuestIoFactor(0.25);
        assertThat(Files.readAllLines(ioMax)).contains("254:0 rbps=" + bps / 4 + " wbps=" + bps / 4);
        Files.delete(ioMax);
        cg.setGuestIo(0);
        assertThat(Files.readAllLines(ioMax)).contains("254:0 rbps=" + bps / 4 + " wbps=" + bps / 4);
        Files.delete(ioMax);
        cg.setGuestIoFactor(1);
        assertThat(Files.readAllLines(ioMax)).contains("254:0 rbps=max wbps=max");
        assertThat(cg.guestIoInForce()).isZero();
        assertThatThrownBy(() -> cg.setGuestIoFactor(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void v2WithoutTheIoControllerSaysWhatToDo() throws IOException {
        disks();
        Cgroups cg = fakeV2("cpu memory pids");
        assertThat(cg.ioControl()).isEqualTo("none");
        assertThatThrownBy(() -> cg.setGuestIo(50L << 20)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("cgroup v2 at " + root + " offers no io controller (cpu memory pids); guest-io needs cgroup v2 "
                        + "with the io controller or cgroup v1 blkio throttling; set guest-io none to run guests without a disk cap");
        cg.setGuestIo(0);   // no cap asked: nothing to refuse
        cg.setGuestIoFactor(0.25);   // the back-off has nothing to scale: no error, nothing written
        assertThat(root.resolve("herd-n1/guests/io.max")).doesNotExist();
    }

    /** The split looks only at entries that can be job cgroups: control files are not even stat()ed. */
    @Test
    void jobCgroupNamesAreToldFromControlFilesByName() {
        assertThat(Cgroups.isJobName("job-node-a-17-1")).isTrue();
        assertThat(Cgroups.isJobName("blkio.throttle.write_bps_device")).isFalse();
        assertThat(Cgroups.isJobName("cgroup.procs")).isFalse();
        assertThat(Cgroups.isJobName("tasks")).isFalse();
        assertThat(Cgroups.isJobName("notify_on_release")).isFalse();
    }

    @Test
    void v1SplitsTheBudgetBetweenRunningGuestsBecauseItsThrottleIsFlat() throws IOException {
        disk("vda", "254:0");
        Cgroups cg = fakeV1(true);
        assertThat(cg.ioControl()).isEqualTo("blkio.throttle");
        cg.setGuestIo(40L << 20);
        cg.create("job-1");
        Path j1 = root.resolve("blkio/herd-n1/guests/job-1");
        assertThat(lastLine(j1.resolve("blkio.throttle.write_bps_device"))).isEqualTo("254:0 " + (40L << 20));
        assertThat(lastLine(j1.resolve("blkio.throttle.read_bps_device"))).isEqualTo("254:0 " + (40L << 20));
        cg.create("job-2");
        Path j2 = root.resolve("blkio/herd-n1/guests/job-2");
        assertThat(lastLine(j1.resolve("blkio.throttle.write_bps_device"))).isEqualTo("254:0 " + (20L << 20));
        assertThat(lastLine(j2.resolve("blkio.throttle.write_bps_device"))).isEqualTo("254:0 " + (20L << 20));
        cg.setGuestIoFactor(0.25);
        assertThat(lastLine(j2.resolve("blkio.throttle.write_bps_device"))).isEqualTo("254:0 " + (5L << 20));
        cg.setGuestIoFactor(1);
        // A job's end gives the others its share, a moment later.
        removeFake(cg, "job-2");
        await().atMost(Duration.ofSeconds(5))
                .untilAsserted(() -> assertThat(lastLine(j1.resolve("blkio.throttle.write_bps_device"))).isEqualTo("254:0 " + (40L << 20)));
        cg.setGuestIo(0);
        assertThat(lastLine(j1.resolve("blkio.throttle.write_bps_device"))).as("0 removes the rule").isEqualTo("254:0 0");
    }

    /** The fake tree's files must go for its directories to. */
    private void removeFake(Cgroups cg, String job) throws IOException {
        for (String c : new String[] {"freezer", "cpu", "memory", "pids", "blkio"}) {
            try (var files = Files.list(root.resolve(c + "/herd-n1/guests/" + job))) {
                for (Path f : files.toList()) Files.delete(f);
            }
        }
        cg.remove(job);
    }

    @Test
    void v1JobsComingAndGoingWithinTheSplitRewriteOnlyTheNewJobsRules() throws IOException {
        disk("vda", "254:0");
        Cgroups cg = fakeV1(true);
        cg.setGuestIo(40L << 20);
        cg.create("job-1");
        cg.create("job-2");
        Path j1 = root.resolve("blkio/herd-n1/guests/job-1/blkio.throttle.write_bps_device");
        long j1Rules = Files.readAllLines(j1).size();
        removeFake(cg, "job-2");
        cg.create("job-3");   // before the others' shares grow: it takes the share job-2 left
        Path j3 = root.resolve("blkio/herd-n1/guests/job-3/blkio.throttle.write_bps_device");
        assertThat(lastLine(j3)).isEqualTo("254:0 " + (20L << 20));
        assertThat(Files.readAllLines(j1)).as("job-1's rule is not written again").hasSize((int) j1Rules);
        cg.create("job-4");   // three jobs: every share is cut at once
        assertThat(lastLine(j1)).isEqualTo("254:0 " + ((40L << 20) / 3));
        assertThat(lastLine(j3)).isEqualTo("254:0 " + ((40L << 20) / 3));
        removeFake(cg, "job-4");
        removeFake(cg, "job-3");
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(lastLine(j1)).isEqualTo("254:0 " + (40L << 20)));
        removeFake(cg, "job-1");
    }

    @Test
    void v1WithoutThrottlingSaysWhatIsMissing() throws IOException {
        Cgroups cg = fakeV1(false);
        assertThat(cg.ioControl()).isEqualTo("weight");
        assertThatThrownBy(() -> cg.setGuestIo(50L << 20)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("the cgroup v1 blkio controller has no throttling (kernel built without "
                        + "CONFIG_BLK_DEV_THROTTLING); guest-io needs");
        assertThatThrownBy(() -> Cgroups.none("no cgroup or cgroup2 file system is mounted").setGuestIo(1L << 20))
                .hasMessageStartingWith("cgroups are not available on this node (no cgroup or cgroup2 file system is mounted)");
    }

    @Test
    void guestsTogetherAreBoundedAndEachJobReclaimsBeforeItsLimit() throws IOException {
        Cgroups v2 = fakeV2("cpu io memory pids");
        v2.setGuestsMemoryMax(12L << 30);
        assertThat(root.resolve("herd-n1/guests/memory.max")).hasContent(Long.toString(12L << 30));
        assertThat(v2.guestsMemoryMax()).hasValue(12L << 30);
        v2.create("job-1");
        Path job = root.resolve("herd-n1/guests/job-1");
        for (String f : new String[] {"memory.max", "memory.high", "memory.swap.max"}) Files.writeString(job.resolve(f), "max\n");
        v2.setLimits("job-1", 1L << 30, 0);
        assertThat(job.resolve("memory.max")).hasContent(Long.toString(1L << 30));
        assertThat(job.resolve("memory.high")).hasContent(Long.toString((1L << 30) - (1L << 27)));
        v2.setGuestsMemoryMax(0);
        assertThat(root.resolve("herd-n1/guests/memory.max")).hasContent("max");
        assertThat(v2.guestsMemoryMax()).isEmpty();
    }

    @Test
    void v1BoundIsTheGuestsLimitAndTheJobsSoftLimit() throws IOException {
        Path v1root = Files.createDirectories(root.resolve("v1"));
        for (String c : new String[] {"cpu", "memory", "pids"}) Files.createDirectories(v1root.resolve(c));
        Cgroups cg = new Cgroups(v1root, Cgroups.Version.V1, "herd-n1");
        cg.setGuestsMemoryMax(6L << 30);
        assertThat(v1root.resolve("memory/herd-n1/guests/memory.limit_in_bytes")).hasContent(Long.toString(6L << 30));
        cg.create("job-1");
        Path mem = v1root.resolve("memory/herd-n1/guests/job-1");
        for (String f : new String[] {"memory.limit_in_bytes", "memory.soft_limit_in_bytes"}) Files.writeString(mem.resolve(f), "-1\n");
        cg.setLimits("job-1", 800L << 20, 0);
        assertThat(mem.resolve("memory.soft_limit_in_bytes")).hasContent(Long.toString(700L << 20));
        cg.setGuestsMemoryMax(0);
        assertThat(v1root.resolve("memory/herd-n1/guests/memory.limit_in_bytes")).hasContent("-1");

        Path noMem = Files.createDirectories(root.resolve("v1b/cpu"));
        Cgroups withoutMemory = new Cgroups(noMem.getParent(), Cgroups.Version.V1, "herd-n1");
        assertThatThrownBy(() -> withoutMemory.setGuestsMemoryMax(1L << 30)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("cannot bound the guests' memory: no memory controller (cgroup v1 (controllers: cpu)");
    }

    @Test
    void thisMachineSaysHowItCapsGuestIo() {
        Cgroups cg = Cgroups.detect("herd-iotest-" + ProcessHandle.current().pid());
        assumeTrue(cg.available());
        assertThat(cg.ioControl()).isIn("io.max", "blkio.throttle", "weight", "none");
        assertThat(cg.ioDevices()).allMatch(d -> d.matches("[0-9]+:[0-9]+"));
    }

    private static String lastLine(Path f) throws IOException {
        List<String> lines = Files.readAllLines(f);
        return lines.get(lines.size() - 1);
    }
}
