package io.herd.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code herd} CLI as a separate process, as a user would, and captures what it prints. */
public final class Cli {

    public record Result(int exit, String out, String err) {
        public String all() { return out + err; }
    }

    private Cli() {}

    public static Result run(String... args) {
        return run(Map.of(), List.of(), args);
    }

    /** @param prefix command words put before java, e.g. {@code runuser -u nobody --} */
    public static Result run(Map<String, String> env, List<String> prefix, String... args) {
        return runIn(null, env, prefix, args);
    }

    /** As {@link #run(String...)}, with the CLI's stdout going to {@code stdout} (for volumes too big to hold). */
    public static Result runTo(java.nio.file.Path stdout, String... args) {
        return runIn(null, Map.of(), List.of(), stdout, args);
    }

    /** As {@link #run(String...)}, in working directory {@code dir}. */
    public static Result runIn(java.nio.file.Path dir, String... args) {
        return runIn(dir, Map.of(), List.of(), args);
    }

    private static Result runIn(java.nio.file.Path dir, Map<String, String> env, List<String> prefix, String... args) {
        return runIn(dir, env, prefix, null, args);
    }

    private static Result runIn(java.nio.file.Path dir, Map<String, String> env, List<String> prefix, java.nio.file.Path stdout,
                                String... args) {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-XX:+UseSerialGC");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.herd.cli.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().putAll(env);
        if (dir != null) pb.directory(dir.toFile());
        if (stdout != null) pb.redirectOutput(stdout.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        try {
            Process p = pb.start();
            CompletableFuture<String> out = drain(p.getInputStream());
            CompletableFuture<String> err = drain(p.getErrorStream());
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("herd " + String.join(" ", args) + " did not finish in 90 s" + daemonLogTail(args));
            }
            return new Result(p.exitValue(), out.join(), err.join());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * The end of the daemon's log of the {@code --data=DIR} the command named: a test's data
     * directories go when it ends, and with them the only record of why a command hung.
     */
    private static String daemonLogTail(String... args) {
        for (String a : args) {
            if (a.startsWith("--data=")) return logTail(java.nio.file.Path.of(a.substring("--data=".length())), 60);
        }
        return "";
    }

    /**
     * The last {@code lines} lines of the daemon log in a data directory, headed by its path, for
     * a failing test's message: the directory goes when the test ends.
     */
    public static String logTail(java.nio.file.Path dataDir, int lines) {
        java.nio.file.Path log = dataDir.resolve("daemon.log");
        try {
            List<String> all = java.nio.file.Files.readAllLines(log);
            return "\nlast lines of " + log + ":\n" + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | RuntimeException e) {
            return "\n(no daemon log at " + log + ": " + e + ")";
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                in.transferTo(b);
                return b.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }
}
