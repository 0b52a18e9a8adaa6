package io.herd.cli;

import io.herd.node.DataDir;
import io.herd.node.Node;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "daemon", description = {"Run this node's daemon in the foreground (what the systemd unit runs).",
        "SIGTERM leaves the cluster gracefully."})
final class DaemonCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Override
    public Integer call() throws Exception {
        return runDaemon(data.dir());
    }

    /**
     * How the JDK starts processes. Its Linux default, posix_spawn, first executes its helper
     * {@code jspawnhelper}, which then executes the program: one more exec for every job, about
     * a sixth of a local job's process chain. {@code VFORK} executes the program directly from
     * the vfork()ed child (the JDK's default on Linux until JDK 12). A value given with {@code
     * -Djdk.lang.Process.launchMechanism=…} (in HERD_JAVA_OPTS) is kept.
     */
    static final String LAUNCH_MECHANISM = "jdk.lang.Process.launchMechanism";

    static int runDaemon(DataDir dir) throws Exception {
        if (System.getProperty(LAUNCH_MECHANISM) == null) System.setProperty(LAUNCH_MECHANISM, "VFORK");
        if (!dir.isInitialised()) {
            throw new CliException("no herd node in " + dir + "; create one with `herd init` or `herd join`");
        }
        Node node = new Node(dir, Node.Options.defaults(), Clock.systemUTC());
        try {
            node.start();
        } catch (IllegalStateException e) {
            node.shutdown(false);
            throw new CliException(e.getMessage());
        } catch (Exception e) {
            node.shutdown(false);
            throw new CliException("the daemon could not start: " + e.getMessage());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> node.shutdown(true), "herd-shutdown"));
        node.awaitStop();
        return 0;
    }
}
