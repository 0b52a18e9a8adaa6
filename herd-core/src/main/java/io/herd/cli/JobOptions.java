package io.herd.cli;

import io.herd.api.proto.JobSpecMsg;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** What {@code herd run} and {@code herd submit} take: the command, where and how it may run, and {@code --each}. */
final class JobOptions {
    /** Passed to every job unless overridden, so output and dates read as they do locally. */
    static final List<String> DEFAULT_ENV = List.of("LANG", "LC_ALL", "TZ", "TERM");

    @Option(names = "--env", paramLabel = "NAME[=VALUE]", description = "Pass a variable to the job (repeatable); NAME alone passes this shell's value. Always passed: LANG, LC_ALL, TZ, TERM.")
    List<String> env = new ArrayList<>();
    @Option(names = "--node", paramLabel = "NAME", description = "Run on this node only.") String node;
    @Option(names = "--local", description = "Run on this node.") boolean local;
    @Option(names = "--on", paramLabel = "EXPR", description = "Constraint over node attributes, e.g. 'mem>=8G && speed>1.5 && label==fast'.") String on;
    @Option(names = "--cpus", defaultValue = "1", description = "Cores the job uses (default: ${DEFAULT-VALUE}).") int cpus;
    @Option(names = "--mem", paramLabel = "SIZE", description = "Memory the job needs, e.g. 512M, 4G.") String mem;
    @Option(names = "--needs", paramLabel = "PROG", description = "A program that must be installed on the host (repeatable).") List<String> needs = new ArrayList<>();
    @Option(names = "--max-retries", defaultValue = "3", description = "Times to place the job again after its host is lost (default: ${DEFAULT-VALUE}).") int maxRetries;
    @Option(names = {"-i", "--input"}, paramLabel = "GLOB", description = "Also stage these files (repeatable; glob relative to this directory, e.g. 'data/*.csv', 'scenes/**').") List<String> inputs = new ArrayList<>();
    @Option(names = {"-o", "--output"}, paramLabel = "GLOB", description = "Also bring back these files even when unchanged (repeatable). New and changed files always come back.") List<String> outputs = new ArrayList<>();
    @Option(names = "--on-collision", paramLabel = "POLICY", defaultValue = "fail", description = {"When an output would replace a different file here:",
            "fail (default: the job fails and writes none of its outputs), rename (write NAME.1, NAME.2 …) or overwrite."}) String onCollision = "fail";
    @Option(names = "--net", description = "The job needs the network. Without it a job on another user's node has none; a node's owner may refuse such jobs (policy guest-network).") boolean net;
    @Option(names = "--checkpoint", paramLabel = "MODE", description = {"What the job does when evicted (its host's owner came back, herd expel, herd home):",
            "none (default: killed, run again from the start) or signal[:SIG]: herd sends SIG (default USR1), the job saves its state",
            "in its directory and exits 85 within 30 s, and its next attempt starts with those files, wherever it runs."}) String checkpoint;
    @Option(names = "--shared", description = "Run in this same directory on the host, staging nothing (for directories on NFS or another shared file system).") boolean shared;
    @Option(names = "--each", paramLabel = "SPEC", description = {"Run the command once per item, as an array: SPEC is a range 1..100, "
            + "@FILE (one item per line) or a list a,b,c. In every word {} becomes the item and {#} its number (1-based); "
            + "with neither, the item is added as the last argument."}) String each;
    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "The command and its arguments (after --).") List<String> command;

    /** Where the job runs as if: the CLI's current directory, unless a caller such as the demo sets another. */
    Path cwd;

    Path cwd() {
        return cwd != null ? cwd : Path.of("").toAbsolutePath();
    }

    /** The items of {@code --each}, or null without it; a bad SPEC is a usage error (exit 2), before anything is sent. */
    List<String> items() {
        if (each == null) return null;
        try {
            return io.herd.array.EachSpec.parse(each, cwd());
        } catch (io.herd.array.EachSpec.BadSpec e) {
            throw new CliException(e.getMessage(), 2);
        }
    }

    JobSpecMsg spec(boolean stdin) {
        if (cpus < 1) throw new CliException("--cpus must be at least 1", 2);
        if (maxRetries < 0) throw new CliException("--max-retries must be 0 or more", 2);
        if (local && node != null) throw new CliException("--local and --node cannot be combined", 2);
        Map<String, String> vars = new LinkedHashMap<>();
        for (String name : DEFAULT_ENV) {
            String v = System.getenv(name);
            if (v != null) vars.put(name, v);
        }
        for (String e : env) {
            int eq = e.indexOf('=');
            String name = eq < 0 ? e : e.substring(0, eq);
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) throw new CliException("bad --env '" + e + "': use NAME or NAME=VALUE", 2);
            String value = eq < 0 ? System.getenv(name) : e.substring(eq + 1);
            if (value == null) throw new CliException("--env " + name + ": not set in this shell; give a value with --env " + name + "=VALUE", 2);
            vars.put(name, value);
        }
        JobSpecMsg.Builder b = JobSpecMsg.newBuilder().addAllArgv(command).putAllEnv(vars)
                .setCwd(cwd().toString()).setCpus(cpus).setMaxRetries(maxRetries)
                .addAllNeeds(needs).setLocal(local).setStdin(stdin).setShared(shared).setNet(net);
        if (shared && !(inputs.isEmpty() && outputs.isEmpty())) {
            throw new CliException("--shared runs in this directory on the host and stages nothing: drop -i/-o, or drop --shared", 2);
        }
        if (!shared) {
            b.addAllInputs(Staged.inputs(cwd(), command, inputs));
            for (String o : outputs) b.addOutputGlobs(Staged.checkGlob(o, "-o"));
            if (onCollision == null) onCollision = "fail";
            if (!io.herd.journal.JobSpec.COLLISION_POLICIES.contains(onCollision)) {
                throw new CliException("--on-collision must be fail, rename or overwrite, not '" + onCollision + "'", 2);
            }
            b.setOnCollision(onCollision);
        }
        if (node != null) b.setNode(node);
        if (on != null) b.setConstraint(on);
        if (mem != null) b.setMemBytes(Sizes.parse(mem, "--mem"));
        if (checkpoint != null) {
            try {
                io.herd.journal.Checkpoint mode = io.herd.journal.Checkpoint.parse(checkpoint);
                if (mode != null) b.setCheckpoint(mode.text());
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage(), 2);
            }
        }
        return b.build();
    }
}
