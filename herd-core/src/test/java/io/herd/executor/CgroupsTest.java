package io.herd.executor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Layout and detection against fake trees; the guest CPU share on the real one when root. */
class CgroupsTest {

    @TempDir
    Path root;

    // ------------------------------------------------------------------ v2, fake tree

    private Cgroups fakeV2(String controllers) throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), controllers + "\n");
        Files.writeString(root.resolve("cgroup.subtree_control"), "");
        return new Cgroups(root, Cgroups.Version.V2, "herd-n1");
    }

    @Test
    void v2JobCgroupLayout() throws IOException {
        Cgroups cg = fakeV2("cpuset cpu io memory hugetlb pids rdma misc");
        cg.create("job-1");

        Path guests = root.resolve("herd-n1/guests");
        assertThat(guests.resolve("job-1")).isDirectory();
        // Each level hands cpu, memory, pids and io down: root, the herd parent, guests.
        for (Path level : new Path[] {root, root.resolve("herd-n1"), guests}) {
            assertThat(level.resolve("cgroup.subtree_control")).hasContent("+cpu +memory +pids +io");
        }
        cg.place("job-1", 4242);
        assertThat(guests.resolve("job-1/cgroup.procs")).hasContent("4242");
        assertThat(cg.procsFiles("job-1")).containsExactly(guests.resolve("job-1/cgroup.procs"));
        assertThat(cg.jobs()).containsExactly("job-1");
        assertThat(cg.exists("job-1")).isTrue();
        assertThat(cg.describe()).startsWith("cgroup v2").contains(guests.toString());

        Files.writeString(guests.resolve("job-1/cgroup.procs"), "12\n34\n");
        assertThat(cg.pids("job-1")).containsExactly(12L, 34L);
        Files.writeString(guests.resolve("job-1/cpu.stat"), "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n");
        assertThat(cg.cpuTime("job-1")).contains(Duration.ofNanos(1_234_567_000L));
        assertThat(cg.cpuTime("no-such-job")).isEmpty();
    }

    @Test
    void v2GuestsGetTheLowestCpuAndIoWeightAndEachJobItsLimits() throws IOException {
        Cgroups cg = fakeV2("cpu io memory pids");
        Path guests = Files.createDirectories(root.resolve("herd-n1/guests"));
        // The kernel's files (a fake tree has only those a test writes): cpu.idle is missing before 5.15.
        Files.writeString(guests.resolve("cpu.weight"), "100\n");
        Files.writeString(guests.resolve("io.weight"), "default 100\n");
        assertThat(cg.guestCpuPriority()).isFalse();
        cg.create("job-1");
        assertThat(guests.resolve("cpu.weight")).hasContent("1");
        assertThat(guests.resolve("io.weight")).hasContent("default 1");
        assertThat(cg.guestCpuPriority()).as("nice 19 adds nothing now").isTrue();

        Path job = guests.resolve("job-1");
        for (String f : new String[] {"memory.max", "memory.swap.max", "pids.max"}) Files.writeString(job.resolve(f), "max\n");
        cg.setLimits("job-1", 64L << 20, 512);
        assertThat(job.resolve("memory.max")).hasContent(Long.toString(64L << 20));
        assertThat(job.resolve("memory.swap.max")).hasContent("0");
        assertThat(job.resolve("pids.max")).hasContent("512");
        assertThat(cg.memoryLimit("job-1")).hasValue(64L << 20);

        Files.writeString(job.resolve("memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 0\n");
        assertThat(cg.oomKilled("job-1")).isFalse();
        Files.writeString(job.resolve("memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
        assertThat(cg.oomKilled("job-1")).isTrue();
    }

    @Test
    void v2PrefersCpuIdleWhereTheKernelHasIt() throws IOException {
        Cgroups cg = fakeV2("cpu memory pids");
        Path guests = Files.createDirectories(root.resolve("herd-n1/guests"));
        Files.writeString(guests.resolve("cpu.idle"), "0\n");
        Files.writeString(guests.resolve("cpu.weight"), "100\n");
        cg.create("job-1");
        assertThat(guests.resolve("cpu.idle")).hasContent("1");
        assertThat(guests.resolve("cpu.weight")).hasContent("100");
    }

    @Test
    void v2LimitsWithoutTheirControllerAreRefused() throws IOException {
        Cgroups cg = fakeV2("cpu");
        cg.create("job-1");
        assertThat(cg.guestCpuPriority()).as("no cpu.idle or cpu.weight to write: guests keep nice 19").isFalse();
        cg.setLimits("job-1", 0, 0);   // nothing asked, nothing needed
        assertThatThrownBy(() -> cg.setLimits("job-1", 1L << 30, 0)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("no memory controller");
        assertThatThrownBy(() -> cg.setLimits("job-1", 0, 100)).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("no pids controller");
        assertThat(cg.oomKilled("job-1")).isFalse();
    }

    @Test
    void otherHerdNodesJobsOnThisMachineAreCountedNotOursNorOtherCgroups() throws IOException {
        Files.createDirectories(root.resolve("cpu"));
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd-n1");
        assertThat(cg.otherNodesJobs()).as("nothing yet").isZero();
        Files.createDirectories(root.resolve("cpu/herd-n1/guests/job-1"));          // ours
        Files.createDirectories(root.resolve("cpu/herd-n2/guests/job-7"));
        Files.createDirectories(root.resolve("cpu/herd-n2/guests/job-8"));
        Files.writeString(root.resolve("cpu/herd-n2/guests/cpu.shares"), "2\n");   // a file, not a job
        Files.createDirectories(root.resolve("cpu/herd-n3"));                       // no guests yet
        Files.createDirectories(root.resolve("cpu/system.slice/guests/x"));         // not herd's
        assertThat(cg.otherNodesJobs()).isEqualTo(2);
        Files.createDirectories(root.resolve("cpu/herd-n3/guests/job-2"));
        assertThat(cg.otherNodesJobs()).isEqualTo(3);

        Cgroups v2 = fakeV2("cpu memory");
        Files.createDirectories(root.resolve("herd-n4/guests/job-3"));
        assertThat(v2.otherNodesJobs()).as("v2: siblings under the mount root").isEqualTo(1);
        assertThat(Cgroups.none("test").otherNodesJobs()).isZero();
    }

    @Test
    void freezingOrThawingAJobWhoseCgroupIsGoneDoesNothing() throws IOException {
        // The job's exit path removes its cgroup while a cancel's kill may still be thawing it.
        Files.createDirectories(root.resolve("freezer"));
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd-n1");
        Path state = Files.createDirectories(root.resolve("freezer/herd-n1/guests/job-1")).resolve("freezer.state");
        Files.writeString(state, "THAWED");
        assertThat(cg.startFreeze("job-1")).isTrue();
        assertThat(state).hasContent("FROZEN");
        Files.delete(state);
        Files.delete(state.getParent());
        assertThat(cg.startFreeze("job-1")).isFalse();
        assertThat(cg.freeze("job-1")).isFalse();
        cg.thaw("job-1");
        assertThat(state.getParent()).doesNotExist();
    }

    @Test
    void v1GuestsGetTheLowestSharesAndEachJobItsLimits() throws IOException {
        for (String c : new String[] {"cpu", "memory", "pids", "blkio"}) Files.createDirectories(root.resolve(c));
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd-n1");
        Path cpuGuests = Files.createDirectories(root.resolve("cpu/herd-n1/guests"));
        Files.writeString(cpuGuests.resolve("cpu.shares"), "1024\n");
        Path blkioGuests = Files.createDirectories(root.resolve("blkio/herd-n1/guests"));
        Files.writeString(blkioGuests.resolve("blkio.bfq.weight"), "100\n");   // BFQ: no blkio.weight
        cg.create("job-1");
        assertThat(cpuGuests.resolve("cpu.shares")).hasContent("2");
        assertThat(cg.guestCpuPriority()).isTrue();
        assertThat(blkioGuests.resolve("blkio.bfq.weight")).hasContent("1");

        Path mem = root.resolve("memory/herd-n1/guests/job-1");
        Files.writeString(mem.resolve("memory.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(mem.resolve("memory.memsw.limit_in_bytes"), "9223372036854771712\n");
        Files.writeString(root.resolve("pids/herd-n1/guests/job-1/pids.max"), "max\n");
        assertThat(cg.memoryLimit("job-1")).isEmpty();
        cg.setLimits("job-1", 2L << 30, 64);
        assertThat(mem.resolve("memory.limit_in_bytes")).hasContent(Long.toString(2L << 30));
        assertThat(mem.resolve("memory.memsw.limit_in_bytes")).hasContent(Long.toString(2L << 30));
        assertThat(root.resolve("pids/herd-n1/guests/job-1/pids.max")).hasContent("64");

        Files.writeString(mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        assertThat(cg.oomKilled("job-1")).isFalse();
        Files.writeString(mem.resolve("memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        assertThat(cg.oomKilled("job-1")).isTrue();
        Files.delete(mem.resolve("memory.oom_control"));   // before Linux 4.13: the limit was hit
        Files.writeString(mem.resolve("memory.failcnt"), "3\n");
        assertThat(cg.oomKilled("job-1")).isTrue();
    }

    @Test
    void v2FreezerWritesCgroupFreezeAndWaitsForTheKernelToSayFrozen() throws IOException {
        Cgroups cg = fakeV2("cpu memory pids");
        cg.create("j1");
        Path job = root.resolve("herd-n1/guests/j1");
        assertThat(cg.canFreeze("j1")).as("no cgroup.freeze file: no freezer").isFalse();
        assertThat(cg.freeze("j1")).isFalse();
        Files.writeString(job.resolve("cgroup.freeze"), "0\n");
        Files.writeString(job.resolve("cgroup.events"), "populated 1\nfrozen 1\n");   // what the kernel says once done
        assertThat(cg.canFreeze("j1")).isTrue();
        assertThat(cg.freeze("j1")).isTrue();
        assertThat(job.resolve("cgroup.freeze")).hasContent("1");
        assertThat(cg.isFrozen("j1")).isTrue();
        cg.thaw("j1");
        assertThat(job.resolve("cgroup.freeze")).hasContent("0");
        Files.writeString(job.resolve("cgroup.events"), "populated 1\nfrozen 0\n");
        assertThat(cg.isFrozen("j1")).isFalse();
        assertThat(cg.startFreeze("j1")).as("asks, does not wait").isTrue();
        assertThat(job.resolve("cgroup.freeze")).hasContent("1");
        assertThat(cg.isFrozen("j1")).isFalse();
        assertThat(cg.freeze("j1")).as("the kernel never says frozen: gives up after a moment").isFalse();
    }

    @Test
    void v2GuestsCpuTimeIsTheGuestsCgroupsCounter() throws IOException {
        Cgroups cg = fakeV2("cpu memory pids");
        assertThat(cg.guestsCpuNanos()).isEmpty();
        cg.create("j1");
        Files.writeString(root.resolve("herd-n1/guests/cpu.stat"), "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n");
        assertThat(cg.guestsCpuNanos()).hasValue(1_500_000);
    }

    @Test
    void v2EnablesOnlyWhatIsMissingAndOffered() throws IOException {
        Cgroups cg = fakeV2("cpu io memory");   // no pids controller on this machine
        Files.writeString(root.resolve("cgroup.subtree_control"), "cpu io memory\n");   // the kernel's own format
        cg.create("a");
        assertThat(root.resolve("cgroup.subtree_control")).hasContent("cpu io memory");   // untouched
        assertThat(root.resolve("herd-n1/cgroup.subtree_control")).hasContent("+cpu +memory +io");
        cg.create("b");
        assertThat(cg.jobs()).containsExactly("a", "b");
    }

    @Test
    void v2GuestCpuShare() throws IOException {
        Cgroups cg = fakeV2("cpu memory pids");
        assertThat(cg.guestCpuShare()).isEmpty();
        cg.setGuestCpuShare(0.5);
        Path cpuMax = root.resolve("herd-n1/guests/cpu.max");
        assertThat(cpuMax).hasContent("50000 100000");
        assertThat(cg.guestCpuShare()).hasValue(0.5);
        cg.setGuestCpuShare(1.5);
        assertThat(cpuMax).hasContent("150000 100000");
        assertThat(cg.guestCpuShare()).hasValue(1.5);
        cg.clearGuestCpuShare();
        assertThat(cpuMax).hasContent("max 100000");
        assertThat(cg.guestCpuShare()).isEmpty();
    }

    @Test
    void theMemoryBackoffScalesTheGuestsCpuCapAndGivesItBack() throws IOException {
        Cgroups cg = fakeV2("cpu memory pids");
        Path cpuMax = root.resolve("herd-n1/guests/cpu.max");
        int cores = Runtime.getRuntime().availableProcessors();
        // No policy cap: a share of all cores, then none again.
        assertThat(cg.setGuestCpuFactor(0.25)).isTrue();
        assertThat(cpuMax).hasContent(Math.round(cores * 0.25 * 100000) + " 100000");
        assertThat(cg.setGuestCpuFactor(1)).isTrue();
        assertThat(cpuMax).hasContent("max 100000");
        // A policy cap of 0.8 cores: the factor scales it, never under 0.01 core, and the policy survives it.
        cg.setGuestCpuShare(0.8);
        cg.setGuestCpuFactor(0.5);
        assertThat(cpuMax).hasContent("40000 100000");
        cg.setGuestCpuFactor(1.0 / 1000);
        assertThat(cpuMax).hasContent("1000 100000");
        cg.setGuestCpuShare(0.6);   // the owner changes the policy meanwhile: the cut still applies
        assertThat(cpuMax).hasContent("1000 100000");
        cg.setGuestCpuFactor(1);
        assertThat(cpuMax).hasContent("60000 100000");
        cg.setGuestCpuFactor(0.5);
        cg.clearGuestCpuShare();    // policy lifted during a cut: the cut is of all cores now
        assertThat(cpuMax).hasContent(Math.round(cores * 0.5 * 100000) + " 100000");
        for (double bad : new double[] {0, -1, 1.5, Double.NaN}) {
            assertThatThrownBy(() -> cg.setGuestCpuFactor(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("CPU factor must be in (0, 1]");
        }
        assertThat(fakeV2Other("memory pids").setGuestCpuFactor(0.5)).as("no cpu controller: nothing to scale").isFalse();
        assertThat(Cgroups.none("none").setGuestCpuFactor(0.5)).isFalse();
    }

    private Cgroups fakeV2Other(String controllers) throws IOException {
        root = Files.createDirectories(root.resolve("other"));
        return fakeV2(controllers);
    }

    @Test
    void theGuestsAnonymousMemoryIsReadFromTheirMemoryStat() throws IOException {
        Cgroups v2 = fakeV2("cpu memory pids");
        assertThat(v2.guestsAnonBytes()).as("no guest yet").isEmpty();
        v2.create("j");
        Files.writeString(root.resolve("herd-n1/guests/memory.stat"), "anon 734003200\nfile 1048576\n");
        assertThat(v2.guestsAnonBytes()).hasValue(734003200);
        for (String c : new String[] {"cpu", "memory"}) Files.createDirectories(root.resolve("v1/" + c));
        Cgroups v1 = new Cgroups(root.resolve("v1"), Cgroups.Version.V1, "herd");
        v1.create("j");
        Files.writeString(root.resolve("v1/memory/herd/guests/memory.stat"), "cache 4096\nrss 0\ntotal_cache 8192\ntotal_rss 524288000\n");
        assertThat(v1.guestsAnonBytes()).hasValue(524288000);
        assertThat(Cgroups.none("none").guestsAnonBytes()).isEmpty();
    }

    @Test
    void v2WithoutCpuControllerRefusesGuestShare() throws IOException {
        Cgroups cg = fakeV2("memory pids");
        assertThatThrownBy(() -> cg.setGuestCpuShare(0.5))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("cgroups are not available on this node (cgroup v2 at")
                .hasMessageEndingWith("guest-cpus needs cgroup v1 or v2 with the cpu controller");
    }

    // ------------------------------------------------------------------ v1, fake tree

    @Test
    void v1LayoutOneDirectoryPerController() throws IOException {
        for (String c : new String[] {"cpu", "cpuacct", "memory", "pids", "freezer"}) Files.createDirectories(root.resolve(c));
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd");
        cg.create("j");
        for (String c : new String[] {"freezer", "cpu", "cpuacct", "memory", "pids"}) {
            assertThat(root.resolve(c + "/herd/guests/j")).isDirectory();
        }
        assertThat(cg.procsFiles("j")).hasSize(5);
        Files.writeString(root.resolve("cpuacct/herd/guests/j/cpuacct.usage"), "2500000000\n");
        assertThat(cg.cpuTime("j")).contains(Duration.ofMillis(2500));

        cg.setGuestCpuShare(0.25);
        assertThat(root.resolve("cpu/herd/guests/cpu.cfs_period_us")).hasContent("100000");
        assertThat(root.resolve("cpu/herd/guests/cpu.cfs_quota_us")).hasContent("25000");
        assertThat(cg.guestCpuShare()).hasValue(0.25);
        cg.clearGuestCpuShare();
        assertThat(root.resolve("cpu/herd/guests/cpu.cfs_quota_us")).hasContent("-1");
        assertThat(cg.guestCpuShare()).isEmpty();
    }

    @Test
    void v1CoMountedCpuAndCpuacctAreOneHierarchy() throws IOException {
        Path both = Files.createDirectories(root.resolve("cpu,cpuacct"));
        Files.createSymbolicLink(root.resolve("cpu"), both);
        Files.createSymbolicLink(root.resolve("cpuacct"), both);
        Files.createDirectories(root.resolve("memory"));
        Cgroups cg = new Cgroups(root, Cgroups.Version.V1, "herd");
        cg.create("j");
        assertThat(cg.procsFiles("j")).hasSize(2);
    }

    // ------------------------------------------------------------------ no cgroups, bad input

    @Test
    void withoutCgroupsGuestShareIsAClearError() {
        Cgroups none = Cgroups.none("no cgroup or cgroup2 file system is mounted");
        assertThat(none.available()).isFalse();
        assertThat(none.describe()).isEqualTo("no cgroups (no cgroup or cgroup2 file system is mounted)");
        assertThatThrownBy(() -> none.setGuestCpuShare(0.5))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessage("cgroups are not available on this node (no cgroup or cgroup2 file system is mounted); "
                        + "guest-cpus needs cgroup v1 or v2 with the cpu controller");
        assertThat(none.guestCpuShare()).isEmpty();
        none.clearGuestCpuShare();   // nothing to clear
        assertThatThrownBy(() -> none.create("j")).isInstanceOf(UnsupportedOperationException.class);
        assertThat(none.jobs()).isEmpty();
        assertThat(none.pids("j")).isEmpty();
    }

    @Test
    void badSharesAndNamesAreRefused() throws IOException {
        Cgroups cg = fakeV2("cpu");
        for (double bad : new double[] {0, -1, 0.001, Double.NaN, Double.POSITIVE_INFINITY, 5000}) {
            assertThatThrownBy(() -> cg.setGuestCpuShare(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("guest-cpus must be between");
        }
        assertThatThrownBy(() -> cg.create("../escape")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Cgroups(root, Cgroups.Version.V2, "../up")).isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ detection

    private static final String V1_MOUNTS = String.join("\n",
            "25 30 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw",
            "33 25 0:28 / /sys/fs/cgroup rw shared:9 - tmpfs tmpfs rw,mode=755",
            "34 33 0:29 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw",
            "35 33 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:11 - cgroup cgroup rw,cpu,cpuacct",
            "36 33 0:31 / /sys/fs/cgroup/memory rw shared:12 - cgroup cgroup rw,memory",
            "37 33 0:32 / /sys/fs/cgroup/pids rw shared:13 - cgroup cgroup rw,pids",
            "38 33 0:33 / /sys/fs/cgroup/freezer rw shared:14 - cgroup cgroup rw,freezer",
            "39 33 0:34 / /sys/fs/cgroup/systemd rw shared:15 - cgroup cgroup rw,xattr,name=systemd");
    private static final String V1_SELF = String.join("\n",
            "9:name=systemd:/system.slice/herd.service",
            "6:freezer:/",
            "4:memory:/system.slice/herd.service",
            "3:pids:/system.slice/herd.service",
            "2:cpu,cpuacct:/system.slice",
            "0::/system.slice/herd.service");

    @Test
    void detectsHybridAsV1NestedUnderTheDaemonsOwnCgroups() {
        // The unified mount of this fake exists nowhere, so it offers no controllers: v1 does the work.
        Cgroups cg = Cgroups.detect("herd-n1", V1_MOUNTS, V1_SELF);
        assertThat(cg.version()).isEqualTo(Cgroups.Version.V1);
        assertThat(cg.parentDir("cpu")).isEqualTo(Path.of("/sys/fs/cgroup/cpu,cpuacct/system.slice/herd-n1"));
        assertThat(cg.parentDir("cpuacct")).isEqualTo(cg.parentDir("cpu"));
        assertThat(cg.parentDir("memory")).isEqualTo(Path.of("/sys/fs/cgroup/memory/system.slice/herd.service/herd-n1"));
        assertThat(cg.parentDir("freezer")).isEqualTo(Path.of("/sys/fs/cgroup/freezer/herd-n1"));
        assertThat(cg.procsFiles("j")).hasSize(4);   // freezer, cpu+cpuacct, memory, pids
    }

    @Test
    void detectsV2WhereTheUnifiedTreeHasTheCpuController() throws IOException {
        Files.writeString(root.resolve("cgroup.controllers"), "cpuset cpu io memory pids\n");
        String mounts = "30 25 0:26 / " + root + " rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate";
        Cgroups cg = Cgroups.detect("herd", mounts, "0::/user.slice/user-1000.slice/session-2.scope\n");
        assertThat(cg.version()).isEqualTo(Cgroups.Version.V2);
        assertThat(cg.parentDir("cpu")).isEqualTo(root.resolve("herd"));   // top of the tree, not the session's
        assertThat(cg.describe()).contains("cpuset cpu io memory pids");
    }

    @Test
    void detectsV1ControllersInAContainerRelativeToTheMountRoot() {
        String mounts = "40 33 0:36 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        Cgroups cg = Cgroups.detect("herd", mounts, "3:cpu:/docker/abc/inner\n");
        assertThat(cg.parentDir("cpu")).isEqualTo(Path.of("/sys/fs/cgroup/cpu/inner/herd"));
    }

    @Test
    void detectsNothingWithoutCgroupMounts() {
        Cgroups cg = Cgroups.detect("herd", "25 30 0:23 / /sys rw - sysfs sysfs rw\n", "");
        assertThat(cg.version()).isEqualTo(Cgroups.Version.NONE);
        assertThat(cg.describe()).isEqualTo("no cgroups (no cgroup or cgroup2 file system is mounted)");
    }

    @Test
    void detectsThisMachine() {
        Cgroups cg = Cgroups.detect();
        assertThat(cg.describe()).isNotBlank();
        if (Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers"))) assertThat(cg.version()).isEqualTo(Cgroups.Version.V2);
    }

    // ------------------------------------------------------------------ the real tree

    @Test
    void guestCpuShareOnThisMachinesCgroups() throws IOException {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to write cgroups");
        Cgroups cg = Cgroups.detect("herd-test-share-" + ProcessHandle.current().pid());
        assumeTrue(cg.version() != Cgroups.Version.NONE, "no cgroups here: " + cg.describe());
        try {
            cg.setGuestCpuShare(0.5);
        } catch (UnsupportedOperationException e) {
            assumeTrue(false, "no writable cpu controller here: " + e.getMessage());
        }
        try {
            Path guests = cg.parentDir("cpu").resolve("guests");
            if (cg.version() == Cgroups.Version.V1) {
                assertThat(Files.readString(guests.resolve("cpu.cfs_period_us")).trim()).isEqualTo("100000");
                assertThat(Files.readString(guests.resolve("cpu.cfs_quota_us")).trim()).isEqualTo("50000");
            } else {
                assertThat(Files.readString(guests.resolve("cpu.max")).trim()).isEqualTo("50000 100000");
            }
            assertThat(cg.guestCpuShare()).hasValue(0.5);
            cg.setGuestCpuShare(0.8);
            assertThat(cg.guestCpuShare()).hasValue(0.8);
            cg.clearGuestCpuShare();
            assertThat(cg.guestCpuShare()).isEmpty();
            if (cg.version() == Cgroups.Version.V1) {
                assertThat(Files.readString(guests.resolve("cpu.cfs_quota_us")).trim()).isEqualTo("-1");
            } else {
                assertThat(Files.readString(guests.resolve("cpu.max")).trim()).isEqualTo("max 100000");
            }
        } finally {
            cg.removeParent();
        }
        assertThat(cg.parentDir("cpu")).doesNotExist();
    }

    @Test
    void realJobCgroupLifecycle() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root to write cgroups");
        Cgroups cg = Cgroups.detect("herd-test-life-" + ProcessHandle.current().pid());
        assumeTrue(cg.available(), "no cgroups here: " + cg.describe());
        try {
            cg.create("j1");
        } catch (UnsupportedOperationException e) {
            assumeTrue(false, "cgroups not writable here: " + e.getMessage());
        }
        Process sleeper = new ProcessBuilder("sleep", "1033").start();
        try {
            cg.place("j1", sleeper.pid());
            assertThat(cg.pids("j1")).isEqualTo(Set.of(sleeper.pid()));
            assertThat(cg.contains("j1", sleeper.pid())).isTrue();
            assertThat(cg.jobs()).containsExactly("j1");
            assertThatThrownBy(cg::removeParent).isInstanceOf(IllegalStateException.class).hasMessageContaining("j1");
            if (cg.freeze("j1")) {
                assertThat(ProcStat.read(sleeper.pid()).orElseThrow().state()).isIn('D', 'S', 'T');
                cg.thaw("j1");
            }
            cg.killAll("j1");
            assertThat(sleeper.waitFor()).isEqualTo(137);
            assertThat(cg.pids("j1")).isEmpty();
            cg.remove("j1");
            assertThat(cg.exists("j1")).isFalse();
            cg.remove("j1");   // idempotent
        } finally {
            sleeper.destroyForcibly();
            cg.killAll("j1");
            cg.remove("j1");
            cg.removeParent();
        }
        assertThat(cg.jobs()).isEmpty();
    }
}
