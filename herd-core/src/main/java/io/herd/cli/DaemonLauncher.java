package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.StatusReply;
import io.herd.api.proto.StatusRequest;
import io.herd.node.DataDir;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts {@code herd daemon} for a data directory as a detached background
 * process (its own session, so a Ctrl-C in the terminal that ran
 * {@code herd init} does not reach it) and waits until it answers.
 */
public final class DaemonLauncher {

    private DaemonLauncher() {}

    /** Extra JVM options for spawned daemons: {@code HERD_DAEMON_OPTS}, or the {@code herd.daemonOpts} property (tests). */
    static List<String> command(DataDir dir) {
        return command(dir, List.of());
    }

    /** @param defaults JVM options of this launcher's own, before {@code HERD_DAEMON_OPTS} (whose -D settings win) */
    static List<String> command(DataDir dir, List<String> defaults) {
        List<String> cmd = new ArrayList<>();
        Path setsid = Path.of("/usr/bin/setsid");
        if (Files.isExecutable(setsid)) cmd.add(setsid.toString());
        cmd.add(ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java"));
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-Xmx1g");
        String home = System.getProperty("herd.home");
        if (home != null) cmd.add("-Dherd.home=" + home);
        cmd.addAll(defaults);
        String extra = System.getProperty("herd.daemonOpts", System.getenv("HERD_DAEMON_OPTS"));
        if (extra != null && !extra.isBlank()) cmd.addAll(List.of(extra.trim().split("\\s+")));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        cmd.add("daemon");
        cmd.add("--data");
        cmd.add(dir.root().toString());
        return cmd;
    }

    /** Starts the daemon and returns its status once it answers on the control socket. */
    public static StatusReply start(DataDir dir, Duration timeout) throws IOException, InterruptedException {
        return start(dir, timeout, List.of());
    }

    /**
     * {@link #start(DataDir, Duration)} with JVM options of the caller's own, e.g. the demo's
     * {@code -Dherd.ownerWatch=off}; {@code HERD_DAEMON_OPTS} still comes after them.
     */
    public static StatusReply start(DataDir dir, Duration timeout, List<String> jvmOptions) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command(dir, jvmOptions));
        File logFile = dir.log().toFile();
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile));
        pb.redirectErrorStream(true);
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p = pb.start();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive() && !ControlClient.isRunning(dir.root())) {
                throw new CliException("the herd daemon for " + dir + " stopped at start: " + lastLine(dir.log())
                        + " (full log: " + dir.log() + ")");
            }
            if (ControlClient.isRunning(dir.root())) {
                try {
                    return ControlClient.call(dir.root(), ControlRequest.newBuilder().setStatus(StatusRequest.getDefaultInstance()).build())
                            .getStatus();
                } catch (ControlClient.NoDaemonException e) {
                    // socket bound but not yet serving: try again
                }
            }
            // The daemon is another process: poll its socket, there is nothing to wait on in between.
            Thread.sleep(50);
        }
        p.destroy();
        throw new CliException("the herd daemon for " + dir + " did not start within " + timeout.toSeconds() + " s; see " + dir.log());
    }

    static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            for (int i = lines.size() - 1; i >= 0; i--) {
                String l = lines.get(i).trim();
                if (l.startsWith("herd:")) return l.substring(5).trim();
            }
            return lines.isEmpty() ? "(empty log)" : lines.get(lines.size() - 1);
        } catch (IOException e) {
            return "(no log)";
        }
    }
}
