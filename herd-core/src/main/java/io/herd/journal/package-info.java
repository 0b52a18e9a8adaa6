/**
 * Journal: the home node's durable record of its jobs, the truth a restarted daemon
 * rebuilds its live queue from (DESIGN §2, §6).
 *
 * <h2>Why SQLite, WAL, synchronous=FULL</h2>
 * One file, no server, transactions that survive {@code kill -9} and power loss, and a
 * query language for {@code herd ps}/{@code history} and array summaries. Write-ahead
 * logging lets the dashboard, the CLI and the scheduler read while a job is being
 * journalled: readers see the last commit and never wait for the writer.
 * {@code synchronous=FULL} fsyncs the log on every commit, so a method that returned
 * has reached the disk: a job the user was given an id for, or a result the user was
 * told about, is never lost. (NORMAL would only risk the last commits on power loss,
 * but a job id printed and then forgotten is exactly the bug the journal exists to
 * prevent.) Each public method is one transaction, writes start with
 * {@code BEGIN IMMEDIATE} so concurrent writers queue on the busy timeout instead of
 * deadlocking, and an array of thousands of jobs is one transaction of batched inserts
 * (2,000 jobs take well under a second), so a crash leaves all of it or none.
 *
 * <h2>State machine ({@link io.herd.journal.Transitions})</h2>
 * <pre>
 *   submit
 *     │
 *     ▼
 *   queued ─────▶ placed ─────▶ running ─────▶ done
 *    ▲ │ ▲           │              │
 *    │ │ └───────────┴──────────────┘   host lost, refused or evicted:
 *    │ ▼                                the next placement is the next attempt
 *    held     only once maxRetries + 1 placements are used; release renews them
 *
 *   queued | placed | running ──▶ failed      herd cannot run it, says why
 *   any non-terminal ──────────▶ cancelled
 * </pre>
 * Vocabulary:
 * <dl>
 * <dt>attempt</dt><dd>one placement of a job; attempt n+1 is the placement after n was
 *     lost, refused or evicted. {@code attempts} counts them.</dd>
 * <dt>retry budget</dt><dd>{@code maxRetries + 1} placements (default 4) from submission
 *     or from the last release; a job that has used it may only be held, failed or
 *     cancelled.</dd>
 * <dt>done / failed</dt><dd>done: the program ran and exited, with whatever exit code;
 *     failed: herd could not run it to its end (unknown program, missing input,
 *     unsatisfiable constraint, disk full).</dd>
 * <dt>incomplete</dt><dd>queued, placed, running or held: what a restarted home node
 *     picks up ({@link io.herd.journal.Journal#incomplete()}).</dd>
 * </dl>
 *
 * <h2>Outputs exactly once</h2>
 * A job's results are the output files of exactly one attempt, reached in three steps:
 * <ol>
 * <li>{@code recordOutputs(job, attempt, files)}: the running attempt reports its files
 *     (path, sha256, size). Only the running attempt may: results of an attempt the home
 *     node has given up on are stale and are discarded. A re-sent report replaces the
 *     same attempt's uncommitted record; other attempts' records are never touched.</li>
 * <li>The files are moved into the user's directory, each atomically.</li>
 * <li>{@code commitOutputs(job, attempt)}: that attempt's record becomes the job's
 *     results, then {@code done}. Done is refused while the current attempt has recorded
 *     outputs that are not committed.</li>
 * </ol>
 * The rule that makes "no duplicate or partial results" hold: <b>at most one attempt per
 * job is ever committed, and a committed job never runs again</b>. A unique index on
 * {@code output_sets(job_id) WHERE committed_ms IS NOT NULL} enforces the first half in the
 * file itself, triggers make committed file rows final, and the journal refuses to queue a
 * job whose outputs are committed. A crash between record and commit leaves an
 * uncommitted record the recovering node can check against the files (sha256) and commit,
 * or ignore and re-run; a crash between commit and done leaves a running job with
 * committed results, to be finished as done (a repeated commit is a no-op). Readers
 * trust only {@link io.herd.journal.Journal#committedOutputs(String)}.
 *
 * <h2>Schema</h2>
 * {@code meta} (schema_version, home_node, next_seq), {@code jobs}, {@code events},
 * {@code arrays}, {@code output_sets}, {@code outputs}; specs and states are JSON
 * (Jackson) beside the columns queries need. A file with a newer schema version is
 * refused untouched; migrations from older versions run inside the opening transaction.
 * Job ids are {@code <homeNode>.<n>}, n from {@code next_seq}, shared with array ids and
 * never reused, also across restarts.
 */
package io.herd.journal;
