package io.herd.journal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the user asked for: the command and everything placement and staging need.
 * Immutable; stored as JSON in the journal, so a spec read back equals the one written.
 *
 * @param argv        the command, never empty
 * @param cwd         the submitter's working directory (outputs come back here)
 * @param env         variables passed to the job
 * @param cpus        cores requested (at least 1)
 * @param memBytes    memory requested, 0 = no request
 * @param constraint  an {@code --on} expression over node attributes, or null
 * @param needs       programs that must be present on the host
 * @param inputGlobs  the files and directories to stage, relative to {@code cwd}, as named by the
 *                    command's arguments and {@code -i} (the CLI expands globs); {@code ?path} is
 *                    staged only if it exists (an argument holding an array placeholder)
 * @param outputGlobs outputs to bring back even when unchanged ({@code -o}); new and changed files always come back
 * @param inputs      the staged files, snapshotted into the home node's content store at
 *                    submission; empty when nothing is staged or the spec is not yet submitted
 * @param onCollision what an output does to a different file already at home: {@code fail}
 *                    (the default, also when null), {@code rename} or {@code overwrite}
 * @param shared      run in place on a shared file system, no staging
 * @param pinnedNode  {@code --node}, or null
 * @param local       {@code --local}: run on the home node only
 * @param maxRetries  placements allowed after the first before the job is held (default 3)
 * @param arrayId     the array this job belongs to, or null (set by {@link Journal#submitArray})
 * @param arrayIndex  0-based position in its array, or -1
 * @param arrayItem   the array item this job was expanded from, or null
 * @param net         {@code --net}: the job needs the network; a guest without it has none
 * @param checkpoint  {@code --checkpoint}: how the job keeps its progress when evicted
 *                    ({@link Checkpoint#text()}), or null to restart it
 */
public record JobSpec(List<String> argv, String cwd, Map<String, String> env, int cpus, long memBytes,
                      String constraint, Set<String> needs, List<String> inputGlobs, List<String> outputGlobs,
                      boolean shared, String pinnedNode, boolean local, int maxRetries,
                      String arrayId, int arrayIndex, String arrayItem, List<InputFile> inputs, String onCollision,
                      boolean net, String checkpoint) {

    public static final int DEFAULT_MAX_RETRIES = 3;
    public static final List<String> COLLISION_POLICIES = List.of("fail", "rename", "overwrite");

    public JobSpec {
        argv = List.copyOf(Objects.requireNonNull(argv, "argv"));
        if (argv.isEmpty()) throw new IllegalArgumentException("a job needs a command (argv is empty)");
        env = env == null ? Map.of() : Collections.unmodifiableMap(new TreeMap<>(env));
        needs = needs == null ? Set.of() : Collections.unmodifiableSet(new TreeSet<>(needs));
        inputGlobs = inputGlobs == null ? List.of() : List.copyOf(inputGlobs);
        outputGlobs = outputGlobs == null ? List.of() : List.copyOf(outputGlobs);
        inputs = inputs == null ? List.of() : List.copyOf(inputs);
        if (onCollision != null && !COLLISION_POLICIES.contains(onCollision)) {
            throw new IllegalArgumentException("--on-collision must be one of " + String.join(", ", COLLISION_POLICIES) + ", not '" + onCollision + "'");
        }
        if (cpus < 1) throw new IllegalArgumentException("cpus must be at least 1, got " + cpus);
        if (memBytes < 0) throw new IllegalArgumentException("memBytes must not be negative, got " + memBytes);
        if (maxRetries < 0) throw new IllegalArgumentException("maxRetries must not be negative, got " + maxRetries);
        if (arrayIndex < -1) throw new IllegalArgumentException("arrayIndex must be -1 or a position, got " + arrayIndex);
        Checkpoint mode = Checkpoint.parse(checkpoint);
        checkpoint = mode == null ? null : mode.text();
    }

    /** How the job keeps its progress when evicted, or null: it is restarted. */
    public Checkpoint checkpointMode() {
        return Checkpoint.parse(checkpoint);
    }

    /** A spec with defaults: one cpu, no memory request, {@value #DEFAULT_MAX_RETRIES} retries, not in an array. */
    public static JobSpec of(List<String> argv, String cwd) {
        return builder(argv).cwd(cwd).build();
    }

    public static Builder builder(List<String> argv) {
        return new Builder(argv);
    }

    public Builder toBuilder() {
        Builder b = new Builder(argv);
        b.cwd = cwd; b.env = env; b.cpus = cpus; b.memBytes = memBytes; b.constraint = constraint;
        b.needs = needs; b.inputGlobs = inputGlobs; b.outputGlobs = outputGlobs; b.shared = shared;
        b.pinnedNode = pinnedNode; b.local = local; b.maxRetries = maxRetries;
        b.arrayId = arrayId; b.arrayIndex = arrayIndex; b.arrayItem = arrayItem; b.inputs = inputs; b.onCollision = onCollision;
        b.net = net;
        b.checkpoint = checkpoint;
        return b;
    }

    /** This spec as element {@code index} of array {@code arrayId}; the item is kept. */
    JobSpec inArray(String id, int index) {
        return new JobSpec(argv, cwd, env, cpus, memBytes, constraint, needs, inputGlobs, outputGlobs,
                shared, pinnedNode, local, maxRetries, id, index, arrayItem, inputs, onCollision, net, checkpoint);
    }

    /** This spec with its staged inputs snapshotted. */
    public JobSpec withInputs(List<InputFile> files) {
        return new JobSpec(argv, cwd, env, cpus, memBytes, constraint, needs, inputGlobs, outputGlobs,
                shared, pinnedNode, local, maxRetries, arrayId, arrayIndex, arrayItem, files, onCollision, net, checkpoint);
    }

    public static final class Builder {
        private List<String> argv;
        private String cwd;
        private Map<String, String> env = Map.of();
        private int cpus = 1;
        private long memBytes;
        private String constraint;
        private Set<String> needs = Set.of();
        private List<String> inputGlobs = List.of();
        private List<String> outputGlobs = List.of();
        private boolean shared;
        private String pinnedNode;
        private boolean local;
        private int maxRetries = DEFAULT_MAX_RETRIES;
        private String arrayId;
        private int arrayIndex = -1;
        private String arrayItem;
        private List<InputFile> inputs = List.of();
        private String onCollision;
        private boolean net;
        private String checkpoint;

        private Builder(List<String> argv) { this.argv = new ArrayList<>(argv); }

        public Builder argv(List<String> v) { argv = new ArrayList<>(v); return this; }
        public Builder cwd(String v) { cwd = v; return this; }
        public Builder env(Map<String, String> v) { env = v; return this; }
        public Builder cpus(int v) { cpus = v; return this; }
        public Builder memBytes(long v) { memBytes = v; return this; }
        public Builder constraint(String v) { constraint = v; return this; }
        public Builder needs(Set<String> v) { needs = v; return this; }
        public Builder inputGlobs(List<String> v) { inputGlobs = v; return this; }
        public Builder outputGlobs(List<String> v) { outputGlobs = v; return this; }
        public Builder shared(boolean v) { shared = v; return this; }
        public Builder pinnedNode(String v) { pinnedNode = v; return this; }
        public Builder local(boolean v) { local = v; return this; }
        public Builder maxRetries(int v) { maxRetries = v; return this; }
        public Builder onCollision(String v) { onCollision = v; return this; }
        public Builder net(boolean v) { net = v; return this; }
        /** {@code signal[:SIG]} or null (see {@link Checkpoint#parse}). */
        public Builder checkpoint(String v) { checkpoint = v; return this; }
        /** The item this job was expanded from ({@code {}}); the array id and index are set by the journal. */
        public Builder arrayItem(String v) { arrayItem = v; return this; }

        public JobSpec build() {
            return new JobSpec(argv, cwd, env, cpus, memBytes, constraint, needs, inputGlobs, outputGlobs,
                    shared, pinnedNode, local, maxRetries, arrayId, arrayIndex, arrayItem, inputs, onCollision, net, checkpoint);
        }
    }
}
