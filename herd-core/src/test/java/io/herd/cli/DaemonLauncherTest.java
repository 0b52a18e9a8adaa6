package io.herd.cli;

import io.herd.node.DataDir;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The daemon's command line: the launcher's own JVM options, then the user's, which win. */
class DaemonLauncherTest {

    @TempDir
    Path dir;

    @Test
    void theCallersOptionsComeBeforeTheUsersSoTheUsersWin() {
        String before = System.getProperty("herd.daemonOpts");
        System.setProperty("herd.daemonOpts", "-Dherd.ownerWatch=on -Xss1m");
        try {
            List<String> cmd = DaemonLauncher.command(new DataDir(dir), DemoCommand.DAEMON_OPTIONS);
            int demo = cmd.indexOf("-Dherd.ownerWatch=off");
            int user = cmd.indexOf("-Dherd.ownerWatch=on");
            assertThat(demo).as(cmd.toString()).isPositive();
            assertThat(user).as("the JVM takes the last -D of a name: the user's").isGreaterThan(demo);
            assertThat(cmd.subList(cmd.size() - 3, cmd.size())).containsExactly("daemon", "--data", dir.toString());
            assertThat(DaemonLauncher.command(new DataDir(dir))).doesNotContain("-Dherd.ownerWatch=off");
        } finally {
            if (before == null) System.clearProperty("herd.daemonOpts");
            else System.setProperty("herd.daemonOpts", before);
        }
    }
}
