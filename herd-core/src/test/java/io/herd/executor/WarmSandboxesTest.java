package io.herd.executor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.herd.executor.Jobs.exit;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Guests entering kept sandboxes ({@link WarmSandboxes}): real bubblewrap sandboxes kept running,
 * real cgroups, jobs run as {@code nobody}. The node's data directory is under {@code /tmp}, as
 * in every test here, so the sandbox's {@code /tmp} holds the directories its mounts sit on.
 * Needs root, bwrap, nsenter and a writable cgroup tree; skipped otherwise. Leaves no process,
 * cgroup or sandbox behind.
 */
class WarmSandboxesTest {

    private static final String MARK = "1044";
    private static final long PID = ProcessHandle.current().pid();
    private static Cgroups cgroups;
    private static ProcessRunner runner;
    private static Path data;

    @TempDir
    static Path tmp;

    private WarmSandboxes pool;

    @BeforeAll
    static void needsRootBwrapNsenterAndCgroups() throws IOException {
        assumeTrue(Sandbox.runningAsRoot(), "needs root: kept sandboxes are entered as root");
        assumeTrue(Sandbox.program("bwrap") != null, "bwrap is not installed (apt-get install bubblewrap)");
        data = Files.createDirectories(tmp.resolve("node-data"));
        Sandbox sandbox = Sandbox.detect(List.of(data), "nobody");
        assumeTrue(sandbox.available(), "bwrap cannot build a sandbox here: " + sandbox.describe());
        cgroups = Jobs.writableCgroups("herd-test-warm-" + PID);
        runner = new ProcessRunner(cgroups, sandbox);
        assumeTrue(runner.warmSandboxesMissing() == null, "no kept sandboxes here: " + runner.warmSandboxesMissing());
    }

    @BeforeEach
    void pool() {
        pool = runner.warmSandboxes(data.resolve("sandboxes"), 300).orElseThrow();
    }

    @AfterEach
    void closePool() {
        pool.close();
        assertThat(pool.size()).isZero();
    }

    @AfterAll
    static void nothingLeft() throws IOException {
        if (runner == null) return;
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Jobs.runningWith("sleep " + MARK)).isEmpty());
        assertThat(ProcessHandle.current().children().filter(h -> CommandLines.of(h.pid()).contains("bwrap")).toList())
                .as("kept sandboxes left running").isEmpty();
        assertThat(cgroups.jobs()).as("job cgroups left under the test parent").isEmpty();
        cgroups.removeParent();
        try (var left = Files.list(data.resolve("sandboxes"))) {
            assertThat(left.toList()).as("kept sandboxes' directories left").isEmpty();
        }
    }

    private static final LaunchSpec.Guest GUEST = new LaunchSpec.Guest(false, 0, 512);

    private static RunningProcess start(WarmSandboxes.Lease lease, Jobs.Collect out, String script) throws LaunchException, IOException {
        String id = "warm" + System.nanoTime() + "-" + PID;
        if (lease.dir().startsWith(data)) runner.sandbox().handOver(lease.dir());   // as HostJobs does with the staged inputs
        return runner.start(new LaunchSpec(id, List.of("sh", "-c", script), lease.dir(), Jobs.ENV, false, id,
                GUEST.in(lease)), out);
    }

    private static Jobs.Collect run(WarmSandboxes.Lease lease, String script) throws Exception {
        Jobs.Collect out = new Jobs.Collect();
        ExitStatus s = exit(start(lease, out, script));
        assertThat(s.code()).as("exit of %s (stderr: %s)", script, out.err()).isZero();
        return out;
    }

    @Test
    void aUsersJobsTakeTurnsInOneKeptSandboxAndEachFindsItAsNew() throws Exception {
        WarmSandboxes.Lease first = pool.acquire("home/alice", false, null);
        assertThat(runner.guestChainAsStarted(new LaunchSpec("c", List.of("true"), first.dir(), Jobs.ENV, false, "c",
                GUEST.in(first)))).as("the chain enters the kept sandbox").anyMatch(a -> a.endsWith("/nsenter"))
                .noneMatch(a -> a.endsWith("/bwrap"));
        Jobs.Collect one = run(first, "readlink /proc/self/ns/pid; pwd; id -u;"
                + " echo x > /tmp/left; mkdir -p /tmp/d/e; echo y > /var/tmp/left; echo z > here.txt; chmod 0700 .");
        assertThat(one.outLines().get(1)).isEqualTo(first.dir().toString());
        assertThat(one.outLines().get(2)).as("the guests' account").isEqualTo("65534");
        assertThat(first.dir().resolve("here.txt")).as("the job's output, for its collection").hasContent("z");
        first.release();
        assertThat(first.dir()).as("emptied and given back to root").isEmptyDirectory();
        assertThat(Files.getOwner(first.dir()).getName()).isEqualTo("root");

        WarmSandboxes.Lease second = pool.acquire("home/alice", false, null);
        assertThat(second.dir()).isEqualTo(first.dir());
        Jobs.Collect two = run(second, "readlink /proc/self/ns/pid; pwd;"
                + " for f in /tmp/left /tmp/d /var/tmp/left here.txt; do test -e $f && echo \"left: $f\"; done; echo checked");
        assertThat(two.outLines().get(0)).as("the same sandbox's PID namespace").isEqualTo(one.outLines().get(0));
        assertThat(two.outLines().get(1)).as("its directory still mounted where it was").isEqualTo(second.dir().toString());
        assertThat(two.out()).doesNotContain("left:").contains("checked");
        second.release();
        assertThat(pool.size()).isEqualTo(1);
    }

    @Test
    void theGuestsVariablesReachOnlyItsProgramWhichSeesExactlyThem() throws Exception {
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, null);
        Jobs.Collect out = new Jobs.Collect();
        String id = "warmenv" + PID;
        exit(runner.start(new LaunchSpec(id, List.of("true"), lease.dir(), Jobs.envWithMissingPreload(), false, id,
                GUEST.in(lease)), out));
        assertThat(Jobs.preloadComplaints(out.err())).as("processes started with the guest's LD_PRELOAD: %s", out.err()).isEqualTo(1);
        Jobs.Collect env = new Jobs.Collect();
        exit(runner.start(new LaunchSpec(id + "b", List.of("env"), lease.dir(), Jobs.ENV, false, id + "b", GUEST.in(lease)), env));
        assertThat(env.outLines()).containsExactlyInAnyOrderElementsOf(
                Jobs.ENV.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
        lease.release();
    }

    @Test
    void aSandboxThatNoLongerSeesTheHostsDirectoryIsNotUsedAgain() throws Exception {
        WarmSandboxes.Lease first = pool.acquire("home/alice", false, null);
        String ns = run(first, "readlink /proc/self/ns/pid").out().trim();
        first.release();
        WarmSandboxes.deleteTree(first.dir());   // what a file system mounted there, or removed, would do
        Files.createDirectories(first.dir());
        WarmSandboxes.Lease next = pool.acquire("home/alice", false, null);
        Jobs.Collect out = run(next, "readlink /proc/self/ns/pid; pwd");
        assertThat(out.outLines().get(0)).as("a new sandbox").isNotEqualTo(ns);
        assertThat(out.outLines().get(1)).isEqualTo(next.dir().toString());
        next.release();
        WarmSandboxes.deleteTree(first.dir());
    }

    @Test
    void anotherOwnerOrNetworkSettingGetsASandboxOfItsOwn() throws Exception {
        WarmSandboxes.Lease alice = pool.acquire("home/alice", false, null);
        String aliceNs = run(alice, "readlink /proc/self/ns/pid").out().trim();
        alice.release();
        WarmSandboxes.Lease bob = pool.acquire("home/bob", false, null);
        WarmSandboxes.Lease aliceNet = pool.acquire("home/alice", true, null);
        assertThat(bob.dir()).isNotEqualTo(alice.dir());
        assertThat(aliceNet.dir()).isNotEqualTo(alice.dir());
        assertThat(run(bob, "readlink /proc/self/ns/pid").out().trim()).isNotEqualTo(aliceNs);
        assertThat(run(aliceNet, "readlink /proc/self/ns/pid").out().trim()).isNotEqualTo(aliceNs);
        WarmSandboxes.Lease again = pool.acquire("home/alice", false, null);
        WarmSandboxes.Lease concurrent = pool.acquire("home/alice", false, null);
        assertThat(again.dir()).as("the idle one").isEqualTo(alice.dir());
        assertThat(concurrent.dir()).as("one job at a time: a second one").isNotEqualTo(alice.dir());
        assertThat(pool.size()).isEqualTo(4);
        List.of(bob, aliceNet, again, concurrent).forEach(WarmSandboxes.Lease::release);
    }

    @Test
    void signalsReachTheJobWhichMayHandleThemAndItsStatusComesBackWhole() throws Exception {
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, null);
        Jobs.Collect out = new Jobs.Collect();
        RunningProcess p = start(lease, out, "trap 'echo got-term; exit 3' TERM; echo ready; sleep " + MARK + " & wait");
        await().atMost(Duration.ofSeconds(10)).until(() -> out.out().contains("ready"));
        p.signal(15);
        ExitStatus handled = exit(p);
        assertThat(out.out()).contains("got-term");
        assertThat(handled.code()).as("the job's own exit after handling TERM, not the wrapper's death").isEqualTo(3);

        Jobs.Collect killed = new Jobs.Collect();
        ExitStatus byInt = exit(start(lease, killed, "kill -INT $$; sleep 5"));
        assertThat(byInt.code()).isEqualTo(130);
        assertThat(byInt.signal()).isEqualTo(2);
        Jobs.Collect quit = new Jobs.Collect();
        assertThat(exit(start(lease, quit, "kill -QUIT $$; sleep 5")).signal()).as("SIGQUIT is not blocked").isEqualTo(3);
        lease.release();
    }

    @Test
    void whatAJobLeavesRunningDiesAtItsEndAndTheSandboxServesTheNext() throws Exception {
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, null);
        run(lease, "setsid sleep " + MARK + " > /dev/null 2>&1 & echo started");
        assertThat(Jobs.runningWith("sleep " + MARK)).as("killed with the job's cgroup").isEmpty();
        lease.release();
        WarmSandboxes.Lease next = pool.acquire("home/alice", false, null);
        assertThat(run(next, "echo fine").out()).contains("fine");
        next.release();
    }

    @Test
    void withoutItsCgroupAJobGetsAFreshSandboxInTheSameDirectory() throws Exception {
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, null);
        String kept = run(lease, "readlink /proc/self/ns/pid").out().trim();
        Jobs.Collect out = new Jobs.Collect();
        LaunchSpec noCgroup = new LaunchSpec("nocg" + PID, List.of("sh", "-c", "readlink /proc/self/ns/pid; pwd"),
                lease.dir(), Jobs.ENV, false, null, GUEST.in(lease));
        assertThat(exit(runner.start(noCgroup, out)).code()).isZero();
        assertThat(out.outLines().get(0)).isNotEqualTo(kept);
        assertThat(out.outLines().get(1)).isEqualTo(lease.dir().toString());
        lease.release();
    }

    @Test
    void aJobMustRunInItsKeptSandboxsDirectory() throws Exception {
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, null);
        Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> runner.start(new LaunchSpec("w", List.of("true"),
                        elsewhere, Jobs.ENV, false, "w", GUEST.in(lease)), new Jobs.Collect()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not in its kept sandbox");
        lease.release();
    }

    @Test
    void idleSandboxesCloseAndClosingThePoolEndsTheRest() throws Exception {
        WarmSandboxes.Lease idle = pool.acquire("home/alice", false, null);
        WarmSandboxes.Lease busy = pool.acquire("home/bob", false, null);
        Path idleDir = idle.dir();
        idle.release();
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.size() == 1);
        assertThat(idleDir).as("a closed sandbox's directory").doesNotExist();
        pool.close();
        assertThat(busy.dir()).doesNotExist();
        assertThatNoKeptSandboxRuns();
        busy.release();   // after close: nothing to give back to, and no error
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pool.acquire("home/alice", false, null))
                .isInstanceOf(IOException.class).hasMessageContaining("stopping");
    }

    @Test
    void aSharedDirectoryIsBoundAsItIsAndLeftAlone() throws Exception {
        Path shared = Files.createDirectories(tmp.resolve("nfs-home"));
        Files.writeString(shared.resolve("data.txt"), "shared");
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        WarmSandboxes.Lease lease = pool.acquire("home/alice", false, shared);
        assertThat(lease.dir()).isEqualTo(shared);
        assertThat(run(lease, "cat data.txt; echo out > result.txt").out()).contains("shared");
        lease.release();
        assertThat(shared.resolve("data.txt")).hasContent("shared");
        assertThat(shared.resolve("result.txt")).hasContent("out");
        pool.close();
        assertThat(shared).as("not the pool's to remove").exists();
    }

    @Test
    void aSandboxThatCannotBeBuiltIsAnErrorThatLeavesNothing() {
        Path missing = tmp.resolve("no-such-shared-dir");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> pool.acquire("home/alice", false, missing))
                .isInstanceOf(IOException.class).hasMessageContaining("did not start").hasMessageContaining("bwrap exit");
        assertThat(pool.size()).isZero();
        assertThat(ProcessHandle.current().children().filter(h -> CommandLines.of(h.pid()).contains(missing.toString())).toList())
                .as("its bwrap").isEmpty();
    }

    @Test
    void mountinfoPathsAreUnescaped() {
        assertThat(WarmSandboxes.unescape("/tmp/a\\040b\\011c\\134d")).isEqualTo("/tmp/a b\tc\\d");
        assertThat(WarmSandboxes.unescape("/plain\\")).isEqualTo("/plain\\");
    }

    private static void assertThatNoKeptSandboxRuns() {
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(ProcessHandle.allProcesses()
                .filter(h -> Jobs.running(h.pid()) && CommandLines.of(h.pid()).contains(data.resolve("sandboxes").toString()))
                .toList()).isEmpty());
    }
}
