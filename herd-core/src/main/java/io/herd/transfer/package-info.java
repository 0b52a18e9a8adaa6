/**
 * Transfer: a job's input files staged from its home node to its host, and its output
 * files brought back, content-addressed and streamed in chunks.
 *
 * <h2>Pipeline</h2>
 * <pre>
 *  home                                             host
 *  Manifest.scan(cwd, inputs) ─▶ manifest           ContentStore.pin(each hash)   (at admission)
 *  TransferClient.ensure(manifest, cwd)
 *     Has(all hashes) ─────────────────────────────▶ TransferServer ─▶ ContentStore.has
 *     Put(each missing blob, chunked) ─────────────▶ TransferServer ─▶ ContentStore (verify, fsync, rename)
 *                                                   SandboxFiles.materialise(store, manifest, sandbox)
 *                                                   … the job runs …
 *                                                   OutputCollector.changed(sandbox, manifest, -o globs)
 *                                                   ContentStore.put(each output); unpin inputs
 *  TransferClient.fetch(hash, staging file) ◀────── Get(hash, chunked)
 *  OutputCollector.commitInto(cwd, outputs, staged manifest, hash → staging file, policy)
 *  journal: DONE
 * </pre>
 *
 * <h2>Vocabulary</h2>
 * <dl>
 *   <dt>blob</dt><dd>a file's bytes, named by the lowercase hex SHA-256 of those bytes.
 *       Names, modes and times live in manifests, never in blobs.</dd>
 *   <dt>manifest</dt><dd>relative path, hash, size and permission bits of each of a job's
 *       files ({@link io.herd.transfer.Manifest}); the same record for inputs and outputs.</dd>
 *   <dt>content store</dt><dd>a node's blob cache ({@link io.herd.transfer.ContentStore}),
 *       bounded by size, least recently used blobs evicted first.</dd>
 *   <dt>pin</dt><dd>a running job's claim on a blob: pinned blobs are never evicted.</dd>
 *   <dt>materialise</dt><dd>lay a manifest out as files in a sandbox directory.</dd>
 *   <dt>collision</dt><dd>an output whose name at home already holds different content
 *       that is not what this job was given ({@link io.herd.transfer.CollisionPolicy}).</dd>
 * </dl>
 *
 * <h2>Chunking and flow control</h2>
 * Blobs move in chunks of 256 KiB (well under gRPC's 4 MB message limit, large enough that
 * per-message cost is noise). The first chunk of a Put or Get carries the blob's hash and
 * exact size; herd's uploader sends that header without data. Memory stays flat in both
 * directions whatever the blob's size: the uploader sends only while its stream
 * {@code isReady()}, the server asks gRPC for the next chunk only after writing the previous
 * one to disk, the server sends a Get only while its stream is ready, and the downloader's
 * blocking iterator asks for one chunk at a time.
 *
 * <h2>Dedup: once per host</h2>
 * A job's staging asks {@code Has} once for all its hashes and uploads only what is missing,
 * so 400 jobs reading the same 50 MB scene send it to each host once, and later jobs send
 * nothing. Concurrent stagings of the same blob are coalesced twice over: within one
 * {@link io.herd.transfer.TransferClient} (the home node keeps one per host) concurrent
 * {@code ensure} calls share one upload, so the blob is sent exactly once; across clients
 * (several home nodes), the {@link io.herd.transfer.TransferServer} lets one Put write and
 * holds the others after their data-less header, answering them {@code already_present}
 * when the writer finishes. In-process that too is exactly once; over HTTP/2 each held
 * uploader may have its flow-control window in flight (tens to a few hundred KiB) before it
 * stops, which the server reads and discards.
 *
 * <h2>Integrity and atomicity</h2>
 * Hashes are checked at every hop, so a bit flipped on a disk or a file changed during
 * staging is caught, never copied onwards: the store hashes while writing and publishes only
 * a blob whose hash and size match what was announced; a Get hashes while sending and ends
 * with {@code DATA_LOSS} (deleting the blob, so the next staging sends it again) instead of
 * completing when the stored bytes no longer match; the fetcher and
 * {@code commitInto} verify again before publishing; a materialised copy is verified while
 * copying and a hard link by its size.
 *
 * <p>Nothing is ever seen half-written. Every write goes to a temp file in the destination's
 * own directory ({@code .herd-*.part}, or the store's {@code tmp/}), is given its mode and
 * renamed into place; the store, {@code fetch} and {@code commitInto} also fsync the file
 * before and its directory after the rename (a sandbox is simply rebuilt after a crash). An output that must not replace
 * anything is published with {@code link(2)}, which fails if the name was taken meanwhile,
 * where {@code rename(2)} would silently replace. Under {@code FAIL} all of a job's
 * collisions are found before any of its outputs is written; an output identical to what is
 * at home is a no-op, so committing again after a crash or a re-run adds nothing and loses
 * nothing. A crash can leave a {@code .herd-NAME.part} file behind, never a partial output;
 * outputs' temps are named after their output, so committing that output again (the job's
 * next attempt, after its home restarts) replaces the leftover and renames it away.
 *
 * <h2>Path safety</h2>
 * <ul>
 *   <li>Every path in a manifest is relative, '/'-separated, with no empty, '.' or '..'
 *       component, no NUL, at most 4096 characters; enforced by the
 *       {@link io.herd.transfer.Manifest.FileEntry} constructor, so a manifest decoded from
 *       the wire is as safe as a scanned one.</li>
 *   <li>Scanning inputs refuses, naming the file: a '..' component, a path outside the job's
 *       directory, a symbolic link resolving outside it (a link inside it is staged as the
 *       file it points to, under the link's name), anything but regular files.</li>
 *   <li>Materialising and committing create directories one component at a time and refuse
 *       to pass through a symbolic link or a non-directory, so a planted link cannot redirect
 *       a write outside the sandbox or the user's directory.</li>
 *   <li>Collecting outputs never follows links: symbolic links, devices, pipes and sockets
 *       in the sandbox are reported as rejected, with the reason, and not returned.
 *       Output globs may not be absolute or contain '..'.</li>
 *   <li>Hashes are validated before they name a file, so a crafted hash cannot make a path.</li>
 * </ul>
 *
 * <h2>Hard links and permissions</h2>
 * A hard-linked input shares one inode with the store and every other sandbox using it, so
 * linked inputs are read-only ({@code 0444}); in-place writes fail rather than corrupt the
 * shared copy (a job rewrites an input by writing a new file or renaming over it). That
 * protection holds when guests run as an account other than the store's owner, as when the
 * daemon runs as root (DESIGN §3); root itself ignores permission bits. Executable inputs,
 * inputs on a different file system and {@link io.herd.transfer.SandboxFiles.Inputs#COPIED}
 * sandboxes get private copies with the exact mode; giving them to the guest account (chown)
 * is the executor's job. The store directory is owner-only: cached inputs are not readable
 * by other users of the host.
 *
 * <h2>Not here</h2>
 * Authentication ({@link io.herd.transfer.TransferServer#service()} is added behind the
 * node's mutual-TLS interceptor), choosing which files to stage (the CLI), deciding when to
 * pin and unpin (the host's job runner), and recording outputs in the journal.
 */
package io.herd.transfer;
