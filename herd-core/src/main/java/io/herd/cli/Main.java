package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.node.NodeSetup;
import io.herd.node.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code herd} command. */
@Command(name = "herd", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = {"A secure pool of Linux machines that you use as one big machine.", ""},
        subcommands = {InitCommand.class, JoinCommand.class, TokenCommand.class, NodesCommand.class, MonCommand.class,
                RunCommand.class, SubmitCommand.class, PsCommand.class, LogsCommand.class, HistoryCommand.class, WaitCommand.class, CancelCommand.class, HomeCommand.class, ExpelCommand.class,
                NodeCommand.class, LabelCommand.class, PolicyCommand.class, LockCommand.class, LockCommand.Unlock.class,
                LeaveCommand.class, StatusCommand.class, DaemonCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        configureLogging(args);
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit status (used by tests in-process). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        // "@FILE" is herd's own syntax (--each @FILE), not a picocli argument file.
        cl.setExpandAtFiles(false);
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable t = e;
            if (t instanceof CliException ce) {
                cmd.getErr().println("herd: " + ce.getMessage());
                return ce.exitCode();
            }
            if (t instanceof ControlClient.DaemonError de) {
                cmd.getErr().println("herd: " + de.getMessage());
                return de.exitCode();
            }
            if (t instanceof ControlClient.NoDaemonException || t instanceof NodeSetup.SetupException) {
                cmd.getErr().println("herd: " + t.getMessage());
                return 1;
            }
            cmd.getErr().println("herd: " + t + " (this is a bug; please report it with the daemon log)");
            t.printStackTrace(cmd.getErr());
            return 70;
        });
        return cl.execute(args);
    }

    private static void configureLogging(String[] args) {
        boolean daemon = args.length > 0 && (args[0].equals("daemon")
                || (java.util.Arrays.asList(args).contains("--foreground")));
        setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", daemon ? "info" : "warn");
        setIfAbsent("org.slf4j.simpleLogger.showDateTime", "true");
        setIfAbsent("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        setIfAbsent("org.slf4j.simpleLogger.showShortLogName", "true");
        setIfAbsent("org.slf4j.simpleLogger.log.org.jgroups", "warn");
        setIfAbsent("org.slf4j.simpleLogger.log.io.grpc", "warn");
        setIfAbsent("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL [%4$s] %3$s: %5$s%6$s%n");
        // JGroups logs through JUL unless log4j is present; keep its chatter to warnings.
        java.util.logging.Logger.getLogger("org.jgroups").setLevel(java.util.logging.Level.WARNING);
        java.util.logging.Logger.getLogger("io.grpc").setLevel(java.util.logging.Level.WARNING);
    }

    private static void setIfAbsent(String key, String value) {
        if (System.getProperty(key) == null) System.setProperty(key, value);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"herd " + Version.get(), "Java " + Runtime.version()};
        }
    }
}
