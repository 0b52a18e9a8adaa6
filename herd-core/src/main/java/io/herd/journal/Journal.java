package io.herd.journal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.herd.journal.JobState.Cancelled;
import io.herd.journal.JobState.Done;
import io.herd.journal.JobState.Failed;
import io.herd.journal.JobState.Held;
import io.herd.journal.JobState.Placed;
import io.herd.journal.JobState.Queued;
import io.herd.journal.JobState.Running;
import org.sqlite.SQLiteConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The home node's durable record of its jobs: one SQLite file in WAL mode with
 * {@code synchronous=FULL}, so every method that returns has reached the disk.
 *
 * <p>Each public method is one transaction; writes take the write lock up front
 * ({@code BEGIN IMMEDIATE}) so two writers never deadlock on a lock upgrade, and
 * readers (a small pool of connections) see the last committed state without
 * waiting for writers. Thread-safe; several {@code Journal}s, also in other
 * processes, may open the same file (writes then queue for up to {@value #BUSY_TIMEOUT_MS} ms).
 *
 * <p>Errors: {@link IllegalStateException} for a change the job's state forbids,
 * {@link NoSuchElementException} for an unknown id, {@link IllegalArgumentException}
 * for bad arguments, {@link JournalException} when the file itself fails.
 */
public final class Journal implements AutoCloseable {

    /** Version of the schema this code writes; it reads this and older ones. */
    public static final int SCHEMA_VERSION = 3;
    static final int BUSY_TIMEOUT_MS = 10_000;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private static final Map<String, Class<? extends JobState>> STATE_TYPES = Map.of(
            "queued", Queued.class, "placed", Placed.class, "running", Running.class, "done", Done.class,
            "failed", Failed.class, "held", Held.class, "cancelled", Cancelled.class);

    /**
     * Schema 2: a job's latest checkpoint ({@code --checkpoint signal}), the files staged into its
     * next attempt. Replaced whole by each new checkpoint; kept after the job ends, for its history.
     */
    private static final String CHECKPOINTS = """
            CREATE TABLE checkpoints (
              job_id TEXT NOT NULL REFERENCES jobs(id),
              attempt INTEGER NOT NULL,
              path TEXT NOT NULL,
              sha256 TEXT NOT NULL,
              size INTEGER NOT NULL,
              mode INTEGER NOT NULL,
              PRIMARY KEY (job_id, path))""";

    private static final List<String> SCHEMA = List.of(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            """
            CREATE TABLE arrays (
              id TEXT PRIMARY KEY,
              seq INTEGER NOT NULL UNIQUE,
              user TEXT NOT NULL,
              spec TEXT NOT NULL,
              size INTEGER NOT NULL,
              submitted_ms INTEGER NOT NULL)""",
            """
            CREATE TABLE jobs (
              id TEXT PRIMARY KEY,
              seq INTEGER NOT NULL UNIQUE,
              user TEXT NOT NULL,
              spec TEXT NOT NULL,
              state TEXT NOT NULL CHECK (state IN ('queued','placed','running','done','failed','held','cancelled')),
              state_json TEXT NOT NULL,
              host TEXT,
              attempts INTEGER NOT NULL DEFAULT 0,
              attempts_at_release INTEGER NOT NULL DEFAULT 0,
              exit_code INTEGER,
              reason TEXT,
              submitted_ms INTEGER NOT NULL,
              started_ms INTEGER,
              finished_ms INTEGER,
              cpu_ms INTEGER NOT NULL DEFAULT 0,
              array_id TEXT REFERENCES arrays(id),
              array_index INTEGER NOT NULL DEFAULT -1,
              evictions INTEGER NOT NULL DEFAULT 0)""",
            "CREATE INDEX jobs_user ON jobs(user, seq)",
            "CREATE INDEX jobs_state ON jobs(state, seq)",
            "CREATE INDEX jobs_array ON jobs(array_id, array_index)",
            """
            CREATE TABLE events (
              seq INTEGER PRIMARY KEY AUTOINCREMENT,
              job_id TEXT NOT NULL REFERENCES jobs(id),
              ts_ms INTEGER NOT NULL,
              kind TEXT NOT NULL,
              detail TEXT)""",
            "CREATE INDEX events_job ON events(job_id, seq)",
            // One row per attempt that reported outputs. The partial unique index is the
            // exactly-once rule: at most one attempt of a job is ever committed.
            """
            CREATE TABLE output_sets (
              job_id TEXT NOT NULL REFERENCES jobs(id),
              attempt INTEGER NOT NULL,
              recorded_ms INTEGER NOT NULL,
              committed_ms INTEGER,
              PRIMARY KEY (job_id, attempt))""",
            "CREATE UNIQUE INDEX output_sets_one_commit ON output_sets(job_id) WHERE committed_ms IS NOT NULL",
            """
            CREATE TABLE outputs (
              job_id TEXT NOT NULL,
              attempt INTEGER NOT NULL,
              path TEXT NOT NULL,
              sha256 TEXT NOT NULL,
              size INTEGER NOT NULL,
              committed INTEGER NOT NULL DEFAULT 0 CHECK (committed IN (0, 1)),
              PRIMARY KEY (job_id, attempt, path),
              FOREIGN KEY (job_id, attempt) REFERENCES output_sets(job_id, attempt))""",
            // A file row is committed only with its set, and committed rows are final.
            """
            CREATE TRIGGER outputs_commit_with_set BEFORE UPDATE OF committed ON outputs
            WHEN NEW.committed = 1 AND (SELECT committed_ms FROM output_sets
                                        WHERE job_id = NEW.job_id AND attempt = NEW.attempt) IS NULL
            BEGIN SELECT RAISE(ABORT, 'outputs can only be committed with their attempt'); END""",
            """
            CREATE TRIGGER outputs_committed_final_update BEFORE UPDATE ON outputs
            WHEN OLD.committed = 1
            BEGIN SELECT RAISE(ABORT, 'committed outputs are final'); END""",
            """
            CREATE TRIGGER outputs_committed_final_delete BEFORE DELETE ON outputs
            WHEN OLD.committed = 1
            BEGIN SELECT RAISE(ABORT, 'committed outputs are final'); END""",
            CHECKPOINTS);

    private static final String JOB_COLUMNS = "id, seq, user, spec, state, state_json, host, attempts, "
            + "attempts_at_release, exit_code, reason, submitted_ms, started_ms, finished_ms, cpu_ms, array_id, array_index, "
            + "evictions";

    private final Path file;
    private final String homeNode;
    private final Connection writer;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final java.util.concurrent.ConcurrentLinkedQueue<PendingWrite<?>> pendingWrites = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicLong batches = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong batchedWrites = new java.util.concurrent.atomic.AtomicLong();
    private final ConcurrentLinkedDeque<Connection> readers = new ConcurrentLinkedDeque<>();
    private volatile boolean closed;

    private Journal(Path file, String homeNode, Connection writer) {
        this.file = file;
        this.homeNode = homeNode;
        this.writer = writer;
    }

    /** Opens an existing journal; its home node is the one it was created for. */
    public static Journal open(Path file) {
        return open(file, null);
    }

    /**
     * Opens the journal at {@code file}, creating it (and its directory) for {@code homeNode}
     * if it does not exist. Job ids are {@code <homeNode>.<n>}.
     *
     * @param homeNode the node this journal belongs to; null to take it from an existing file
     * @throws JournalException if the file is not a herd journal, was written by a newer herd,
     *                          or belongs to another node
     */
    public static Journal open(Path file, String homeNode) {
        Objects.requireNonNull(file, "file");
        if (homeNode != null && (homeNode.isBlank() || homeNode.chars().anyMatch(Character::isWhitespace))) {
            throw new IllegalArgumentException("home node name must be non-empty without spaces: '" + homeNode + "'");
        }
        Path abs = file.toAbsolutePath();
        try {
            if (abs.getParent() != null) Files.createDirectories(abs.getParent());
        } catch (IOException e) {
            throw new JournalException("cannot create the journal's directory " + abs.getParent() + ": " + e.getMessage(), e);
        }
        Connection c = null;
        try {
            c = connect(abs, false);
            String node = initSchema(c, abs, homeNode);
            return new Journal(abs, node, c);
        } catch (SQLException e) {
            closeQuietly(c);
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("NOTADB") || msg.contains("not a database")) {
                throw new JournalException(abs + " is not a herd journal (not an SQLite database); move it away or "
                        + "choose another data directory", e);
            }
            throw new JournalException("cannot open journal " + abs + ": " + msg, e);
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /** {@link StatementCache} on each connection; {@code -Dherd.journal.statementCache=false} only for benchmarks. */
    static final boolean STATEMENT_CACHE = Boolean.parseBoolean(System.getProperty("herd.journal.statementCache", "true"));

    private static Connection connect(Path file, boolean readOnly) throws SQLException {
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setBusyTimeout(BUSY_TIMEOUT_MS);
        Connection raw = cfg.createConnection("jdbc:sqlite:" + file);
        Connection c = STATEMENT_CACHE ? StatementCache.wrap(raw) : raw;
        try (Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("PRAGMA journal_mode=WAL")) {
                String mode = rs.next() ? rs.getString(1) : "?";
                if (!"wal".equalsIgnoreCase(mode)) {
                    throw new SQLException("the file system refused write-ahead logging (journal mode is " + mode
                            + "); keep the data directory on a local disk");
                }
            }
            st.execute("PRAGMA synchronous=FULL");
            st.execute("PRAGMA foreign_keys=ON");
            if (readOnly) st.execute("PRAGMA query_only=ON");
        } catch (SQLException e) {
            closeQuietly(c);
            throw e;
        }
        return c;
    }

    private static String initSchema(Connection c, Path file, String homeNode) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("BEGIN IMMEDIATE");
            try {
                String node = initSchemaInTx(c, st, file, homeNode);
                st.execute("COMMIT");
                return node;
            } catch (Throwable e) {
                rollback(st, e);
                throw e;
            }
        }
    }

    private static String initSchemaInTx(Connection c, Statement st, Path file, String homeNode) throws SQLException {
        boolean hasMeta;
        int tables;
        try (ResultSet rs = st.executeQuery("SELECT count(*), sum(name = 'meta') FROM sqlite_master WHERE type = 'table'")) {
            rs.next();
            tables = rs.getInt(1);
            hasMeta = rs.getInt(2) > 0;
        }
        if (!hasMeta) {
            if (tables > 0) {
                throw new JournalException(file + " is an SQLite database but not a herd journal; move it away or "
                        + "choose another data directory");
            }
            if (homeNode == null) {
                throw new JournalException("no journal at " + file + "; give the home node's name to create one");
            }
            for (String ddl : SCHEMA) st.execute(ddl);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO meta(key, value) VALUES (?, ?)")) {
                for (String[] kv : new String[][] {
                        {"schema_version", Integer.toString(SCHEMA_VERSION)}, {"home_node", homeNode}, {"next_seq", "1"}}) {
                    ps.setString(1, kv[0]);
                    ps.setString(2, kv[1]);
                    ps.executeUpdate();
                }
            }
            return homeNode;
        }
        String version = meta(c, "schema_version");
        int v;
        try {
            v = Integer.parseInt(Objects.requireNonNull(version, "no schema_version"));
        } catch (RuntimeException e) {
            throw new JournalException("journal " + file + " has no readable schema version ('" + version
                    + "'); it is damaged or not a herd journal");
        }
        if (v > SCHEMA_VERSION) {
            throw new JournalException("journal " + file + " has schema version " + v + " but this herd reads up to "
                    + SCHEMA_VERSION + ": it was written by a newer herd; upgrade herd on this node "
                    + "(the file was left untouched)");
        }
        if (v < 1) {
            throw new JournalException("journal " + file + " has unknown schema version " + v);
        }
        // Migrations from older versions, one step per version, inside this transaction.
        if (v < 2) {
            st.execute(CHECKPOINTS);
            try (PreparedStatement ps = c.prepareStatement("UPDATE meta SET value = '2' WHERE key = 'schema_version'")) {
                ps.executeUpdate();
            }
        }
        if (v < 3) {
            // Evictions counted apart from retries; jobs of older versions count none.
            st.execute("ALTER TABLE jobs ADD COLUMN evictions INTEGER NOT NULL DEFAULT 0");
            try (PreparedStatement ps = c.prepareStatement("UPDATE meta SET value = '3' WHERE key = 'schema_version'")) {
                ps.executeUpdate();
            }
        }
        String stored = meta(c, "home_node");
        if (homeNode != null && !homeNode.equals(stored)) {
            throw new JournalException("journal " + file + " belongs to home node '" + stored + "', not '" + homeNode
                    + "'; its job ids name that node. Start this node with its own data directory");
        }
        return stored;
    }

    private static String meta(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    public Path file() {
        return file;
    }

    public String homeNode() {
        return homeNode;
    }

    // ---------------------------------------------------------------- submit

    /**
     * Records a new job, queued. Returns its id {@code <homeNode>.<n>}; n is one more than
     * any id (job or array) this journal ever handed out, also across restarts.
     */
    public String submit(String user, JobSpec spec, long nowMs) {
        requireText(user, "user");
        Objects.requireNonNull(spec, "spec");
        if (spec.arrayId() != null) {
            throw new IllegalArgumentException("spec names array " + spec.arrayId() + "; submit arrays with submitArray");
        }
        return write("submit a job", c -> {
            long seq = takeSeqs(c, 1);
            String id = homeNode + "." + seq;
            try (PreparedStatement job = c.prepareStatement(INSERT_JOB);
                 PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                bindJob(job, id, seq, user, spec, nowMs);
                job.executeUpdate();
                bindEvent(ev, id, nowMs, "submitted", "by " + user);
                ev.executeUpdate();
            }
            return id;
        });
    }

    /**
     * Records an array and one queued job per element of {@code jobs}, all in one transaction:
     * after a crash either the whole array exists or none of it.
     *
     * <p>The caller expands the command: {@code jobs} are final specs ({@code {}} and
     * {@code {#}} already substituted, {@link JobSpec#arrayItem()} set to the item), and
     * {@code template} is the unexpanded spec, kept for display. The journal stamps each job
     * with the array id and its 0-based position in {@code jobs} ({@code {#}} of GNU parallel
     * is that position + 1). The array id comes from the same sequence as job ids; the jobs
     * take the following numbers, so array {@code n.7} of three holds {@code n.8}–{@code n.10}.
     *
     * @return the array id
     */
    public String submitArray(String user, JobSpec template, List<JobSpec> jobs, long nowMs) {
        requireText(user, "user");
        Objects.requireNonNull(template, "template");
        Objects.requireNonNull(jobs, "jobs");
        if (jobs.isEmpty()) throw new IllegalArgumentException("an array needs at least one job");
        String templateJson = json(template);
        return write("submit an array", c -> {
            long seq = takeSeqs(c, 1 + jobs.size());
            String arrayId = homeNode + "." + seq;
            List<String> specs = new ArrayList<>(jobs.size());
            for (int i = 0; i < jobs.size(); i++) specs.add(json(Objects.requireNonNull(jobs.get(i), "job").inArray(arrayId, i)));
            try (PreparedStatement arr = c.prepareStatement(
                    "INSERT INTO arrays(id, seq, user, spec, size, submitted_ms) VALUES (?, ?, ?, ?, ?, ?)")) {
                arr.setString(1, arrayId);
                arr.setLong(2, seq);
                arr.setString(3, user);
                arr.setString(4, templateJson);
                arr.setInt(5, jobs.size());
                arr.setLong(6, nowMs);
                arr.executeUpdate();
            }
            try (PreparedStatement job = c.prepareStatement(INSERT_JOB);
                 PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                for (int i = 0; i < jobs.size(); i++) {
                    long s = seq + 1 + i;
                    String id = homeNode + "." + s;
                    bindJob(job, id, s, user, specs.get(i), arrayId, i, nowMs);
                    job.addBatch();
                    bindEvent(ev, id, nowMs, "submitted", "by " + user + " in array " + arrayId);
                    ev.addBatch();
                }
                job.executeBatch();
                ev.executeBatch();
            }
            return arrayId;
        });
    }

    private static final String INSERT_JOB = "INSERT INTO jobs(id, seq, user, spec, state, state_json, submitted_ms, "
            + "array_id, array_index) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)";
    private static final String INSERT_EVENT = "INSERT INTO events(job_id, ts_ms, kind, detail) VALUES (?, ?, ?, ?)";
    private static final String QUEUED_JSON = "{\"reason\":null}";

    private static void bindJob(PreparedStatement ps, String id, long seq, String user, JobSpec spec, long nowMs)
            throws SQLException {
        bindJob(ps, id, seq, user, json(spec), null, -1, nowMs);
    }

    private static void bindJob(PreparedStatement ps, String id, long seq, String user, String specJson,
                                String arrayId, int arrayIndex, long nowMs) throws SQLException {
        ps.setString(1, id);
        ps.setLong(2, seq);
        ps.setString(3, user);
        ps.setString(4, specJson);
        ps.setString(5, QUEUED_JSON);
        ps.setLong(6, nowMs);
        ps.setString(7, arrayId);
        ps.setInt(8, arrayIndex);
    }

    private static void bindEvent(PreparedStatement ps, String id, long ts, String kind, String detail) throws SQLException {
        ps.setString(1, id);
        ps.setLong(2, ts);
        ps.setString(3, kind);
        ps.setString(4, detail);
    }

    private static long takeSeqs(Connection c, int n) throws SQLException {
        long next = Long.parseLong(meta(c, "next_seq"));
        try (PreparedStatement ps = c.prepareStatement("UPDATE meta SET value = ? WHERE key = 'next_seq'")) {
            ps.setString(1, Long.toString(next + n));
            ps.executeUpdate();
        }
        return next;
    }

    // ---------------------------------------------------------------- transitions

    /**
     * Moves job {@code id} to {@code to}, checked by {@link Transitions}, and records the event.
     * Beyond the state machine: a job whose outputs are committed cannot be queued again, and
     * a job cannot be done while its current attempt has recorded outputs that are not committed.
     *
     * @throws NoSuchElementException if there is no such job
     * @throws IllegalStateException  if the change is not allowed
     */
    public JobRecord transition(String id, JobState to, long nowMs) {
        return transition(id, to, nowMs, 0);
    }

    /**
     * {@link #transition(String, JobState, long)} and, in the same transaction, adds CPU time
     * the host reported ({@link #addCpu}): the end of an attempt is one write.
     *
     * @return the job as it now stands (as {@link #get} would read it once the write is done)
     */
    public JobRecord transition(String id, JobState to, long nowMs, long addCpuMs) {
        Objects.requireNonNull(to, "to");
        if (addCpuMs < 0) throw new IllegalArgumentException("cpu time must not be negative, got " + addCpuMs);
        return write("move job " + id + " to " + to.name(), c -> {
            JobRecord moved = move(c, id, to, nowMs);
            if (addCpuMs == 0) return moved;
            addCpu(c, id, addCpuMs);
            return withCpu(moved, moved.cpuMs() + addCpuMs);
        });
    }

    private static JobRecord withCpu(JobRecord r, long cpuMs) {
        return new JobRecord(r.id(), r.seq(), r.user(), r.spec(), r.state(), r.host(), r.attempts(),
                r.attemptsAtRelease(), r.evictions(), r.exitCode(), r.reason(), r.submittedMs(), r.startedMs(),
                r.finishedMs(), cpuMs, r.arrayId(), r.arrayIndex());
    }

    /** One placement of {@link #placeAll}. */
    public record Placement(String jobId, String host) {
        public Placement {
            Objects.requireNonNull(jobId, "jobId");
            Objects.requireNonNull(host, "host");
        }
    }

    /**
     * Places several queued jobs at once, in one transaction: each becomes {@code placed} on its
     * host as its next attempt. A job that is no longer queued (cancelled, held or placed in the
     * meantime) is left as it is.
     *
     * @return the placed jobs as they are now, in the order given; jobs left alone are missing
     */
    public List<JobRecord> placeAll(List<Placement> placements, long nowMs) {
        if (placements.isEmpty()) return List.of();
        return write("place " + placements.size() + " jobs", c -> {
            List<JobRecord> placed = new ArrayList<>(placements.size());
            for (Placement p : placements) {
                JobRecord job = load(c, p.jobId()).orElse(null);
                if (job == null || !(job.state() instanceof Queued) || job.retriesExhausted()) continue;
                move(c, p.jobId(), new Placed(p.host(), job.attempts() + 1), nowMs);
                placed.add(load(c, p.jobId()).orElseThrow());
            }
            return placed;
        });
    }

    /**
     * The host refused attempt {@code attempt} as it was about to start it (no free slot after
     * all, its owner's policy): the job goes back to the queue and the attempt does not count,
     * since nothing of it ran. Does nothing when the job has moved on from that placement.
     *
     * @return whether the job went back to the queue
     */
    public boolean refused(String id, int attempt, String reason, long nowMs) {
        Objects.requireNonNull(reason, "reason");
        return write("return refused job " + id + " to the queue", c -> {
            JobRecord job = load(c, id).orElseThrow(() -> noJob(id));
            if (!(job.state() instanceof Placed p) || p.attempt() != attempt) return false;
            String why = "refused by " + p.host() + ": " + reason;
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = 'queued', state_json = ?, host = NULL, "
                    + "attempts = ?, reason = ?, started_ms = NULL WHERE id = ?")) {
                ps.setString(1, json(new Queued(why)));
                ps.setInt(2, attempt - 1);
                ps.setString(3, why);
                ps.setString(4, id);
                ps.executeUpdate();
            }
            try (PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                bindEvent(ev, id, nowMs, "refused", why);
                ev.executeUpdate();
            }
            return true;
        });
    }

    /**
     * Keeps the checkpoint an evicted attempt saved ({@code --checkpoint signal}) as the job's
     * latest: the files its next attempt starts with. Only for the attempt that runs now (a stale
     * report of an older one changes nothing) and only while the job is not finished.
     *
     * @return the checkpoint this one replaces (empty if none), or null when nothing was recorded
     */
    public List<InputFile> checkpointed(String id, int attempt, List<InputFile> files, long nowMs) {
        Objects.requireNonNull(files, "files");
        Set<String> paths = new HashSet<>();
        for (InputFile f : files) {
            if (!paths.add(f.path())) throw new IllegalArgumentException("checkpoint file " + f.path() + " is listed twice");
        }
        return write("record a checkpoint of job " + id, c -> {
            JobRecord job = load(c, id).orElseThrow(() -> noJob(id));
            if (!(job.state() instanceof Running r) || r.attempt() != attempt) return null;
            List<InputFile> before = checkpoint(c, id);
            try (PreparedStatement del = c.prepareStatement("DELETE FROM checkpoints WHERE job_id = ?")) {
                del.setString(1, id);
                del.executeUpdate();
            }
            long bytes = 0;
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO checkpoints(job_id, attempt, path, sha256, size, mode) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (InputFile f : files) {
                    ps.setString(1, id);
                    ps.setInt(2, attempt);
                    ps.setString(3, f.path());
                    ps.setString(4, f.sha256());
                    ps.setLong(5, f.size());
                    ps.setInt(6, f.mode());
                    ps.executeUpdate();
                    bytes += f.size();
                }
            }
            try (PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                bindEvent(ev, id, nowMs, "checkpointed", "attempt " + attempt + " on " + r.host() + " saved "
                        + files.size() + " file" + (files.size() == 1 ? "" : "s") + " (" + bytes + " bytes); the next attempt resumes from them");
                ev.executeUpdate();
            }
            return before;
        });
    }

    /** The job's latest checkpoint: the files its next attempt starts with; empty if it has none. */
    public List<InputFile> checkpoint(String id) {
        return read(c -> checkpoint(c, id));
    }

    private static List<InputFile> checkpoint(Connection c, String id) throws SQLException {
        List<InputFile> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT path, sha256, size, mode FROM checkpoints WHERE job_id = ? ORDER BY path")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(new InputFile(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getInt(4)));
            }
        }
        return out;
    }

    /** Moves the job to {@code to} and returns its new record. */
    private static JobRecord move(Connection c, String id, JobState to, long nowMs) throws SQLException {
        JobRecord job = load(c, id).orElseThrow(() -> noJob(id));
        Transitions.check(job, to);
        OptionalInt committed = committedAttempt(c, id);
        if (to instanceof Queued && committed.isPresent()) {
            throw new IllegalStateException("job " + id + " cannot go from " + job.state().name()
                    + " to queued: the outputs of attempt " + committed.getAsInt()
                    + " are committed, so running it again would duplicate them; record it as done");
        }
        if (to instanceof Done && committed.isEmpty() && hasUncommitted(c, id, job.attempts())) {
            throw new IllegalStateException("job " + id + " cannot go from " + job.state().name()
                    + " to done: attempt " + job.attempts() + " recorded outputs that are not committed; "
                    + "commit them first");
        }
        JobRecord moved = apply(c, job, to, nowMs);
        try (PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
            bindEvent(ev, id, nowMs, to.name(), detail(to));
            ev.executeUpdate();
        }
        return moved;
    }

    /** Writes the job's row for {@code to}; returns the row as written. */
    private static JobRecord apply(Connection c, JobRecord job, JobState to, long nowMs) throws SQLException {
        String host = job.host();
        int attempts = job.attempts();
        int atRelease = job.attemptsAtRelease();
        Integer exit = job.exitCode();
        String reason = null;
        Long started = job.startedMs();
        Long finished = null;
        if (to instanceof Queued q) {
            if (job.state() instanceof Held) atRelease = attempts;
            host = null;
            started = null;
            reason = q.reason();
        } else if (to instanceof Placed p) {
            host = p.host();
            attempts = p.attempt();
            started = null;
        } else if (to instanceof Running r) {
            started = r.startedAtMillis();
        } else if (to instanceof Done d) {
            host = d.host();
            exit = d.exitCode();
            finished = d.finishedAtMillis();
        } else if (to instanceof Failed f) {
            exit = f.exitCode() < 0 ? null : f.exitCode();
            reason = f.reason();
            finished = nowMs;
        } else if (to instanceof Held h) {
            reason = h.reason();
        } else if (to instanceof Cancelled k) {
            reason = "cancelled by " + k.by();
            finished = nowMs;
        }
        try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET state = ?, state_json = ?, host = ?, "
                + "attempts = ?, attempts_at_release = ?, exit_code = ?, reason = ?, started_ms = ?, finished_ms = ? "
                + "WHERE id = ?")) {
            ps.setString(1, to.name());
            ps.setString(2, json(to));
            ps.setString(3, host);
            ps.setInt(4, attempts);
            ps.setInt(5, atRelease);
            ps.setObject(6, exit);
            ps.setString(7, reason);
            ps.setObject(8, started);
            ps.setObject(9, finished);
            ps.setString(10, job.id());
            ps.executeUpdate();
        }
        return new JobRecord(job.id(), job.seq(), job.user(), job.spec(), to, host, attempts, atRelease, job.evictions(),
                exit, reason, job.submittedMs(), started, finished, job.cpuMs(), job.arrayId(), job.arrayIndex());
    }

    private static String detail(JobState s) {
        if (s instanceof Queued q) return q.reason();
        if (s instanceof Placed p) return "on " + p.host() + ", attempt " + p.attempt();
        if (s instanceof Running r) return "on " + r.host() + ", attempt " + r.attempt();
        if (s instanceof Done d) return "exit " + d.exitCode() + " on " + d.host();
        if (s instanceof Failed f) return f.exitCode() < 0 ? f.reason() : f.reason() + " (exit " + f.exitCode() + ")";
        if (s instanceof Held h) return h.reason();
        if (s instanceof Cancelled k) return "by " + k.by();
        throw new AssertionError(s);
    }

    /** Adds CPU time a host reported for the job (any attempt). */
    public void addCpu(String id, long cpuMs) {
        if (cpuMs < 0) throw new IllegalArgumentException("cpu time must not be negative, got " + cpuMs);
        write("add cpu time to job " + id, c -> {
            addCpu(c, id, cpuMs);
            return null;
        });
    }

    private static void addCpu(Connection c, String id, long cpuMs) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET cpu_ms = cpu_ms + ? WHERE id = ?")) {
            ps.setLong(1, cpuMs);
            ps.setString(2, id);
            if (ps.executeUpdate() == 0) throw noJob(id);
        }
    }

    /**
     * Takes the job's latest placement out of its retry budget: it ended through no fault of
     * the job (its host's owner came back, the host was expelled, the job was moved or sent
     * home), as MOSIX and HTCondor do not count evictions as failures. Counted as an eviction,
     * not a retry ({@link JobRecord#retried()}).
     */
    public void forgiveAttempt(String id) {
        write("forgive an attempt of job " + id, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE jobs SET attempts_at_release = MIN(attempts, attempts_at_release + 1), "
                            + "evictions = MIN(attempts, evictions + 1) WHERE id = ?")) {
                ps.setString(1, id);
                if (ps.executeUpdate() == 0) throw noJob(id);
            }
            return null;
        });
    }

    /**
     * {@code herd home}: the job runs at {@code node} from now on, whatever its {@code --node},
     * {@code --local} or {@code --on} said. Its stored spec changes, so the pin outlives a restart
     * of the home, and an event says who sent it and which constraint no longer applies.
     *
     * @return the job's spec as it is now
     * @throws NoSuchElementException   when there is no such job
     * @throws IllegalArgumentException when it has ended
     */
    public JobSpec pin(String id, String node, String by, long nowMs) {
        requireText(node, "node");
        requireText(by, "by");
        return write("pin job " + id + " to " + node, c -> {
            JobRecord r = load(c, id).orElseThrow(() -> noJob(id));
            if (r.state().terminal()) {
                throw new IllegalArgumentException("job " + id + " has ended (" + r.state().name() + "); nothing to pin");
            }
            JobSpec old = r.spec();
            JobSpec pinned = old.toBuilder().pinnedNode(node).local(false).constraint(null).build();
            try (PreparedStatement ps = c.prepareStatement("UPDATE jobs SET spec = ? WHERE id = ?");
                 PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                ps.setString(1, json(pinned));
                ps.setString(2, id);
                ps.executeUpdate();
                String dropped = old.constraint() == null || old.constraint().isBlank() ? ""
                        : "; its --on '" + old.constraint() + "' no longer applies";
                bindEvent(ev, id, nowMs, "pinned", "to " + node + " by " + by + dropped);
                ev.executeUpdate();
            }
            return pinned;
        });
    }

    // ---------------------------------------------------------------- outputs

    /**
     * Records the files the running attempt produced, before they are moved into place.
     * Replaces an earlier, uncommitted record of the same attempt (a re-sent report);
     * other attempts' records are untouched. Refused for any attempt but the running one
     * and once the job's outputs are committed.
     */
    public void recordOutputs(String id, int attempt, List<OutputFile> files, long nowMs) {
        Objects.requireNonNull(files, "files");
        Set<String> paths = new HashSet<>();
        for (OutputFile f : files) {
            if (!paths.add(Objects.requireNonNull(f, "file").path())) {
                throw new IllegalArgumentException("output " + f.path() + " is listed twice");
            }
        }
        write("record outputs of job " + id, c -> {
            JobRecord job = load(c, id).orElseThrow(() -> noJob(id));
            requireOutputAttempt(job, attempt, "record outputs");
            OptionalInt committed = committedAttempt(c, id);
            if (committed.isPresent()) {
                throw new IllegalStateException("job " + id + ": cannot record outputs of attempt " + attempt
                        + ", those of attempt " + committed.getAsInt() + " are committed and final");
            }
            try (PreparedStatement del = c.prepareStatement("DELETE FROM outputs WHERE job_id = ? AND attempt = ?");
                 PreparedStatement delSet = c.prepareStatement("DELETE FROM output_sets WHERE job_id = ? AND attempt = ?");
                 PreparedStatement set = c.prepareStatement(
                         "INSERT INTO output_sets(job_id, attempt, recorded_ms) VALUES (?, ?, ?)");
                 PreparedStatement ins = c.prepareStatement(
                         "INSERT INTO outputs(job_id, attempt, path, sha256, size) VALUES (?, ?, ?, ?, ?)");
                 PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                for (PreparedStatement d : List.of(del, delSet)) {
                    d.setString(1, id);
                    d.setInt(2, attempt);
                    d.executeUpdate();
                }
                set.setString(1, id);
                set.setInt(2, attempt);
                set.setLong(3, nowMs);
                set.executeUpdate();
                for (OutputFile f : files) {
                    ins.setString(1, id);
                    ins.setInt(2, attempt);
                    ins.setString(3, f.path());
                    ins.setString(4, f.sha256());
                    ins.setLong(5, f.size());
                    ins.addBatch();
                }
                ins.executeBatch();
                long bytes = files.stream().mapToLong(OutputFile::size).sum();
                bindEvent(ev, id, nowMs, "outputs-recorded",
                        "attempt " + attempt + ": " + files.size() + " files, " + bytes + " bytes");
                ev.executeUpdate();
            }
            return null;
        });
    }

    /**
     * Makes the running attempt's recorded outputs the job's results, once its files are in
     * place. Repeating the same commit does nothing; committing a second attempt of the same job
     * is refused, here and by a unique index in the file. After a commit the job can only end:
     * done (normally), failed or cancelled; it is never queued to run again.
     */
    public void commitOutputs(String id, int attempt, long nowMs) {
        write("commit outputs of job " + id, c -> {
            JobRecord job = load(c, id).orElseThrow(() -> noJob(id));
            OptionalInt committed = committedAttempt(c, id);
            if (committed.isPresent() && committed.getAsInt() == attempt) return null;
            requireOutputAttempt(job, attempt, "commit outputs");
            if (committed.isPresent()) {
                throw new IllegalStateException("job " + id + ": cannot commit the outputs of attempt " + attempt
                        + ", those of attempt " + committed.getAsInt() + " are already committed");
            }
            try (PreparedStatement set = c.prepareStatement("UPDATE output_sets SET committed_ms = ? "
                    + "WHERE job_id = ? AND attempt = ?")) {
                set.setLong(1, nowMs);
                set.setString(2, id);
                set.setInt(3, attempt);
                if (set.executeUpdate() == 0) {
                    throw new IllegalStateException("job " + id + ": attempt " + attempt
                            + " recorded no outputs; record them before committing");
                }
            }
            try (PreparedStatement files = c.prepareStatement("UPDATE outputs SET committed = 1 "
                    + "WHERE job_id = ? AND attempt = ?");
                 PreparedStatement ev = c.prepareStatement(INSERT_EVENT)) {
                files.setString(1, id);
                files.setInt(2, attempt);
                int n = files.executeUpdate();
                bindEvent(ev, id, nowMs, "outputs-committed", "attempt " + attempt + ": " + n + " files");
                ev.executeUpdate();
            }
            return null;
        });
    }

    private static void requireOutputAttempt(JobRecord job, int attempt, String what) {
        // Only the live attempt reports outputs: results of an attempt the home node has
        // given up on (host lost, job re-placed or cancelled) are stale and must be discarded.
        if (!(job.state() instanceof Running r) || r.attempt() != attempt) {
            String now = job.state() instanceof Running r
                    ? "attempt " + r.attempt() + " is running"
                    : "the job is " + job.state().name();
            throw new IllegalStateException("job " + job.id() + ": cannot " + what + " of attempt " + attempt
                    + " because " + now + "; those outputs are stale, discard them");
        }
    }

    /** The attempt whose outputs are the job's results, if one is committed. */
    public OptionalInt committedAttempt(String id) {
        return read(c -> committedAttempt(c, id));
    }

    /** The files attempt {@code attempt} recorded, committed or not, by path. */
    public List<OutputFile> outputs(String id, int attempt) {
        return read(c -> {
            List<OutputFile> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT path, sha256, size FROM outputs "
                    + "WHERE job_id = ? AND attempt = ? ORDER BY path")) {
                ps.setString(1, id);
                ps.setInt(2, attempt);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) out.add(new OutputFile(rs.getString(1), rs.getString(2), rs.getLong(3)));
                }
            }
            return out;
        });
    }

    /** The job's results: the committed attempt's files, or none. */
    public List<OutputFile> committedOutputs(String id) {
        OptionalInt a = committedAttempt(id);
        return a.isPresent() ? outputs(id, a.getAsInt()) : List.of();
    }

    private static OptionalInt committedAttempt(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT attempt FROM output_sets WHERE job_id = ? AND committed_ms IS NOT NULL")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? OptionalInt.of(rs.getInt(1)) : OptionalInt.empty();
            }
        }
    }

    private static boolean hasUncommitted(Connection c, String id, int attempt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT 1 FROM output_sets WHERE job_id = ? AND attempt = ? AND committed_ms IS NULL")) {
            ps.setString(1, id);
            ps.setInt(2, attempt);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    // ---------------------------------------------------------------- queries

    public Optional<JobRecord> get(String id) {
        return read(c -> load(c, id));
    }

    /** Jobs matching {@code filter}, newest first. */
    public List<JobRecord> list(Filter filter) {
        Objects.requireNonNull(filter, "filter");
        StringBuilder sql = new StringBuilder("SELECT " + JOB_COLUMNS + " FROM jobs WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (filter.user() != null) {
            sql.append(" AND user = ?");
            args.add(filter.user());
        }
        if (!filter.states().isEmpty()) {
            sql.append(" AND state IN (").append("?, ".repeat(filter.states().size() - 1)).append("?)");
            args.addAll(filter.states());
        }
        if (filter.arrayId() != null) {
            sql.append(" AND array_id = ?");
            args.add(filter.arrayId());
        }
        sql.append(" ORDER BY seq DESC");
        if (filter.limit() > 0) sql.append(" LIMIT ").append(filter.limit());
        return read(c -> queryJobs(c, sql.toString(), args));
    }

    /** Jobs not yet done, failed or cancelled, oldest first: what a restarted home node picks up. */
    public List<JobRecord> incomplete() {
        return read(c -> queryJobs(c, "SELECT " + JOB_COLUMNS
                + " FROM jobs WHERE state IN ('queued', 'placed', 'running', 'held') ORDER BY seq", List.of()));
    }

    /** The job's history, oldest first; empty for an unknown id. */
    public List<Event> events(String id) {
        return read(c -> {
            List<Event> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT seq, ts_ms, kind, detail FROM events WHERE job_id = ? ORDER BY seq")) {
                ps.setString(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) out.add(new Event(id, rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4)));
                }
            }
            return out;
        });
    }

    /**
     * Counts of an array's jobs by state, with retries, CPU time and times.
     *
     * @throws NoSuchElementException if there is no such array
     */
    public ArraySummary arraySummary(String arrayId) {
        return read(c -> {
            String user;
            JobSpec template;
            int size;
            long submitted;
            try (PreparedStatement ps = c.prepareStatement("SELECT user, spec, size, submitted_ms FROM arrays WHERE id = ?")) {
                ps.setString(1, arrayId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) throw new NoSuchElementException("no array " + arrayId + " in this journal");
                    user = rs.getString(1);
                    template = parse(rs.getString(2), JobSpec.class);
                    size = rs.getInt(3);
                    submitted = rs.getLong(4);
                }
            }
            Map<String, Integer> byState = new LinkedHashMap<>();
            int retried = 0;
            long cpu = 0;
            long lastFinished = -1;
            try (PreparedStatement ps = c.prepareStatement("SELECT state, count(*), sum(attempts - evictions > 1), sum(cpu_ms), "
                    + "max(finished_ms) FROM jobs WHERE array_id = ? GROUP BY state")) {
                ps.setString(1, arrayId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        byState.put(rs.getString(1), rs.getInt(2));
                        retried += rs.getInt(3);
                        cpu += rs.getLong(4);
                        long f = rs.getLong(5);
                        if (!rs.wasNull()) lastFinished = Math.max(lastFinished, f);
                    }
                }
            }
            return new ArraySummary(arrayId, user, template, size, byState, retried, cpu, submitted, lastFinished);
        });
    }

    /** SQLite's own consistency check of the file: "ok", or what is wrong. */
    public String integrityCheck() {
        return read(c -> {
            List<String> out = new ArrayList<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA integrity_check")) {
                while (rs.next()) out.add(rs.getString(1));
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA foreign_key_check")) {
                while (rs.next()) out.add("foreign key broken in " + rs.getString(1) + " row " + rs.getLong(2));
            }
            if (out.size() > 1 && out.get(0).equals("ok")) out.remove(0);
            return String.join("\n", out);
        });
    }

    /** A PRAGMA's value on the writing connection, for tests of the durability settings. */
    String writerPragma(String name) {
        return write("read pragma " + name, c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("PRAGMA " + name)) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
    }

    private static List<JobRecord> queryJobs(Connection c, String sql, List<?> args) throws SQLException {
        List<JobRecord> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.size(); i++) ps.setObject(i + 1, args.get(i));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) out.add(row(rs));
            }
        }
        return out;
    }

    private static Optional<JobRecord> load(Connection c, String id) throws SQLException {
        Objects.requireNonNull(id, "id");
        List<JobRecord> r = queryJobs(c, "SELECT " + JOB_COLUMNS + " FROM jobs WHERE id = ?", List.of(id));
        return r.isEmpty() ? Optional.empty() : Optional.of(r.get(0));
    }

    private static JobRecord row(ResultSet rs) throws SQLException {
        String state = rs.getString(5);
        Class<? extends JobState> type = STATE_TYPES.get(state);
        if (type == null) throw new SQLException("job " + rs.getString(1) + " has unknown state '" + state + "'");
        return new JobRecord(rs.getString(1), rs.getLong(2), rs.getString(3), spec(rs.getString(4)),
                parse(rs.getString(6), type), rs.getString(7), rs.getInt(8), rs.getInt(9), rs.getInt(18),
                nullableInt(rs, 10), rs.getString(11), rs.getLong(12), nullableLong(rs, 13), nullableLong(rs, 14),
                rs.getLong(15), rs.getString(16), rs.getInt(17));
    }

    /**
     * Specs parsed lately, by their JSON (a spec changed by {@link #pin} is another JSON text). Every transition
     * and look-up of a running job reads its row again: parsing its spec each time was the
     * largest single item in a profile of the home's own Java code on an array of short jobs.
     * Keyed by the text itself, so a hit is always the very spec stored; bounded (a job's spec
     * is wanted while it is queued or running).
     */
    private static final Map<String, JobSpec> SPECS = Collections.synchronizedMap(new LinkedHashMap<>(256, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JobSpec> eldest) {
            return size() > 4096;
        }
    });

    /** Larger specs (thousands of staged inputs) are parsed each time: the cache stays small. */
    private static final int MAX_CACHED_SPEC_CHARS = 16 * 1024;

    static JobSpec spec(String json) throws SQLException {
        JobSpec cached = SPECS.get(json);
        if (cached != null) return cached;
        JobSpec parsed = parse(json, JobSpec.class);
        if (json.length() <= MAX_CACHED_SPEC_CHARS) SPECS.put(json, parsed);
        return parsed;
    }

    private static Integer nullableInt(ResultSet rs, int col) throws SQLException {
        int v = rs.getInt(col);
        return rs.wasNull() ? null : v;
    }

    private static Long nullableLong(ResultSet rs, int col) throws SQLException {
        long v = rs.getLong(col);
        return rs.wasNull() ? null : v;
    }

    // ---------------------------------------------------------------- plumbing

    @FunctionalInterface
    interface Tx<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code tx} in a write transaction and returns once it is on disk.
     *
     * <p>Group commit: writers that arrive while another commits queue up, and
     * the next to get the write lock runs every queued transaction in one
     * {@code BEGIN IMMEDIATE … COMMIT}, so one fsync makes them all durable.
     * Each runs inside its own savepoint: one that fails is rolled back alone
     * and only its caller sees the error; the others commit. No caller returns
     * before the commit that holds its change has reached the disk.
     */
    private <T> T write(String what, Tx<T> tx) {
        PendingWrite<T> mine = new PendingWrite<>(what, tx);
        pendingWrites.add(mine);
        writeLock.lock();
        try {
            // A leader before us may have committed ours already.
            if (!mine.done) {
                List<PendingWrite<?>> batch = new ArrayList<>();
                for (PendingWrite<?> p; (p = pendingWrites.poll()) != null; ) batch.add(p);
                commitBatch(batch);
            }
        } finally {
            writeLock.unlock();
        }
        return mine.result();
    }

    /** Runs raw statements as one group-committed write (tests: a write that fails only at COMMIT). */
    <T> T writeRaw(String what, Tx<T> tx) {
        return write(what, tx);
    }

    /** Writers waiting for the next group commit (tests). */
    int waitingWriters() {
        return pendingWrites.size();
    }

    /** Whether some thread holds the write lock (tests). */
    boolean writeLocked() {
        return writeLock.isLocked();
    }

    /** Runs {@code r} holding the write lock, so writers queue up behind it (tests). */
    void holdingWriteLock(Runnable r) {
        writeLock.lock();
        try {
            r.run();
        } finally {
            writeLock.unlock();
        }
    }

    /** SQL statements compiled so far on the writer and the pooled readers (tests: reuse). */
    long statementsCompiled() {
        if (!STATEMENT_CACHE) return -1;
        long n = StatementCache.compiled(writer);
        for (Connection c : readers) n += StatementCache.compiled(c);
        return n;
    }

    /** Transactions committed together so far, for tests and the bench: {batches, writes}. */
    long[] groupCommits() {
        return new long[] {batches.get(), batchedWrites.get()};
    }

    private void commitBatch(List<PendingWrite<?>> batch) {
        batches.incrementAndGet();
        batchedWrites.addAndGet(batch.size());
        try {
            ensureOpen();
        } catch (RuntimeException e) {
            for (PendingWrite<?> p : batch) p.fail(e);
            return;
        }
        try {
            try {
                exec(writer, "BEGIN IMMEDIATE");
            } catch (SQLException e) {
                for (PendingWrite<?> p : batch) p.fail(p.journalError(file, e));
                return;
            }
            int ok = 0;
            for (PendingWrite<?> p : batch) {
                if (batch.size() == 1) {
                    // Alone: no savepoint needed, a failure rolls the whole transaction back.
                    ok += p.runIn(writer, file) ? 1 : 0;
                    continue;
                }
                exec(writer, "SAVEPOINT w");
                boolean done = p.runIn(writer, file);
                if (!done) exec(writer, "ROLLBACK TO w");
                exec(writer, "RELEASE w");
                ok += done ? 1 : 0;
            }
            if (ok == 0) {
                exec(writer, "ROLLBACK");
                for (PendingWrite<?> p : batch) p.publish();
                return;
            }
            try {
                exec(writer, "COMMIT");
            } catch (SQLException e) {
                rollback(writer, e); // never leave the connection inside a transaction
                for (PendingWrite<?> p : batch) p.failIfRan(p.journalError(file, e));
            }
            for (PendingWrite<?> p : batch) p.publish();
        } catch (SQLException e) {
            // SAVEPOINT or ROLLBACK TO themselves failed: nothing of the batch is trusted.
            rollback(writer, e);
            for (PendingWrite<?> p : batch) {
                p.failIfRan(p.journalError(file, e));
                p.publish();
            }
        }
    }

    /** One caller's transaction waiting for, or done by, a group commit. */
    private static final class PendingWrite<T> {
        final String what;
        final Tx<T> tx;
        T value;
        Throwable error;
        volatile boolean done;

        PendingWrite(String what, Tx<T> tx) {
            this.what = what;
            this.tx = tx;
        }

        /** Runs the transaction's statements; false when they failed (the error is kept). */
        boolean runIn(Connection c, Path file) {
            try {
                value = tx.run(c);
                return true;
            } catch (SQLException e) {
                error = journalError(file, e);
                return false;
            } catch (Throwable e) {
                error = e;
                return false;
            }
        }

        JournalException journalError(Path file, SQLException e) {
            return new JournalException("journal " + file + ": cannot " + what + ": " + e.getMessage(), e);
        }

        void fail(Throwable e) {
            error = e;
            done = true;
        }

        /** The commit failed: a transaction that had succeeded gets the commit's error. */
        void failIfRan(Throwable e) {
            if (error == null) error = e;
        }

        void publish() {
            done = true;
        }

        T result() {
            if (!done) throw new IllegalStateException("journal write '" + what + "' was never run");
            if (error instanceof RuntimeException r) throw r;
            if (error instanceof Error err) throw err;
            if (error != null) throw new JournalException("journal: cannot " + what + ": " + error, error);
            return value;
        }
    }

    private <T> T read(Tx<T> tx) {
        ensureOpen();
        Connection c = readers.poll();
        try {
            if (c == null) c = connect(file, true);
            // One read transaction: a query of several statements sees one snapshot.
            exec(c, "BEGIN");
            try {
                return tx.run(c);
            } finally {
                exec(c, "COMMIT");
            }
        } catch (SQLException e) {
            closeQuietly(c);
            c = null;
            throw new JournalException("journal " + file + ": read failed: " + e.getMessage(), e);
        } finally {
            if (c != null) {
                readers.push(c);
                if (closed) closeReaders();
            }
        }
    }

    private static void rollback(Statement st, Throwable cause) {
        try {
            st.execute("ROLLBACK");
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** Rolls back on {@code c}; a failure to is added to {@code cause} (the connection may be gone). */
    private static void rollback(Connection c, Throwable cause) {
        try {
            exec(c, "ROLLBACK");
        } catch (SQLException e) {
            cause.addSuppressed(e);
        }
    }

    /** Runs a statement without parameters or results, compiled once per connection ({@link StatementCache}). */
    private static void exec(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.execute();
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("journal " + file + " is closed");
    }

    private static String json(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot serialise " + o.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    private static <T> T parse(String json, Class<T> type) throws SQLException {
        try {
            return JSON.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new SQLException("unreadable " + type.getSimpleName() + " in journal: " + e.getOriginalMessage(), e);
        }
    }

    private static NoSuchElementException noJob(String id) {
        return new NoSuchElementException("no job " + id + " in this journal");
    }

    private static void requireText(String s, String what) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException(what + " must not be blank");
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing after a failure; the first error is the one to report
        }
    }

    private void closeReaders() {
        Connection c;
        while ((c = readers.poll()) != null) closeQuietly(c);
    }

    @Override
    public void close() {
        writeLock.lock();
        try {
            if (closed) return;
            closed = true;
            closeReaders();
            try {
                writer.close();
            } catch (SQLException e) {
                throw new JournalException("journal " + file + ": close failed: " + e.getMessage(), e);
            }
        } finally {
            writeLock.unlock();
        }
    }
}
