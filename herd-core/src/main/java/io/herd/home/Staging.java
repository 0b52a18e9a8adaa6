package io.herd.home;

import io.grpc.Channel;
import io.herd.api.proto.StagedFile;
import io.herd.journal.InputFile;
import io.herd.journal.OutputFile;
import io.herd.transfer.CollisionPolicy;
import io.herd.transfer.ContentStore;
import io.herd.transfer.Manifest;
import io.herd.transfer.Manifest.FileEntry;
import io.herd.transfer.OutputCollector;
import io.herd.transfer.SandboxFiles;
import io.herd.transfer.SnapshotCache;
import io.herd.transfer.TransferClient;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The home node's side of a job's files (DESIGN §6): inputs are snapshotted into this node's
 * content store at submission (the job runs on exactly those bytes, and a restarted home still
 * has them), sent to the chosen host just before the job starts (only the blobs it lacks), and
 * outputs are fetched back and committed into the user's directory, each atomically, after the
 * journal has recorded them.
 *
 * <p><b>Whose permissions.</b> The daemon reads inputs and writes outputs for the user. When it
 * runs as another account (root, on a shared machine), it acts only where the user could: it
 * stages only files the user owns or anyone may read, writes outputs only into a directory the
 * user owns, and gives the files it creates to the user.
 */
public final class Staging {

    private final ContentStore store;
    private final Function<String, ? extends Channel> channelTo;
    private final Path work;
    private final SnapshotCache cache = new SnapshotCache(100_000);
    private final Map<Channel, TransferClient> clients = new ConcurrentHashMap<>();
    private final String daemonUser = System.getProperty("user.name");

    /**
     * @param store     this node's content store
     * @param channelTo a channel to a node's gRPC server, by node name
     * @param work      where fetched outputs wait to be committed ({@code work/JOB/outputs-N})
     */
    public Staging(ContentStore store, Function<String, ? extends Channel> channelTo, Path work) {
        this.store = store;
        this.channelTo = channelTo;
        this.work = work;
    }

    public ContentStore store() {
        return store;
    }

    /**
     * Snapshots the named files (relative to {@code cwd}; directories stand for everything below
     * them) into the content store and pins them. Throws, naming the file and what to do, when one
     * is missing, outside {@code cwd}, not a regular file, or not readable by {@code user}.
     */
    public List<InputFile> snapshot(String user, Path cwd, List<String> paths) throws IOException {
        if (paths.isEmpty()) return List.of();
        List<Path> named = new ArrayList<>();
        for (String p : paths) named.add(Path.of(p));
        Manifest m = Manifest.snapshot(cwd, named, store, cache);
        List<InputFile> out = new ArrayList<>();
        for (FileEntry e : m.files()) {
            if (actsForOthers(user)) requireReadableBy(user, cwd.resolve(e.path()), e.path());
            store.pin(e.sha256());
            out.add(new InputFile(e.path(), e.sha256(), e.size(), e.mode()));
        }
        return out;
    }

    /** Keeps a queued job's inputs in the store (after a restart, pins are rebuilt from the journal). */
    public void pin(Collection<InputFile> inputs) {
        for (InputFile f : inputs) store.pin(f.sha256());
    }

    /** The job no longer needs its inputs here. */
    public void unpin(Collection<InputFile> inputs) {
        for (InputFile f : inputs) store.unpin(f.sha256());
    }

    /** Sends the host every input blob it lacks; returns when all are there. */
    public void sendInputs(String host, List<InputFile> inputs) throws IOException {
        if (inputs.isEmpty()) return;
        for (InputFile f : inputs) {
            if (!store.has(f.sha256())) {
                throw new java.nio.file.NoSuchFileException(f.path(), null, "input " + f.path()
                        + " is no longer in the home node's content store (deleted behind herd's back); submit the job again");
            }
        }
        client(host).ensure(manifest(inputs), store);
    }

    private TransferClient client(String host) {
        return clients.computeIfAbsent(channelTo.apply(host), TransferClient::new);
    }

    /**
     * Brings the outputs of attempt {@code attempt} from {@code host} into this node's work
     * directory (blobs this node already holds are not fetched). Returns where each blob is.
     */
    public Map<String, Path> fetchOutputs(String host, String jobId, int attempt, List<OutputFile> outputs) throws IOException {
        Map<String, Path> where = new LinkedHashMap<>();
        Path dir = outputsDir(jobId, attempt);
        for (OutputFile f : outputs) {
            if (where.containsKey(f.sha256())) continue;
            if (store.has(f.sha256())) {
                where.put(f.sha256(), store.path(f.sha256()));
                continue;
            }
            Path dest = dir.resolve(f.sha256());
            if (!Files.isRegularFile(dest)) client(host).fetch(f.sha256(), dest);
            where.put(f.sha256(), dest);
        }
        return where;
    }

    /** The blobs fetched for an attempt, when all are still there (after a home restart). */
    public Map<String, Path> fetchedOutputs(String jobId, int attempt, List<OutputFile> outputs) {
        Map<String, Path> where = new LinkedHashMap<>();
        for (OutputFile f : outputs) {
            Path p = outputsDir(jobId, attempt).resolve(f.sha256());
            if (Files.isRegularFile(p)) where.put(f.sha256(), p);
            else if (store.has(f.sha256())) where.put(f.sha256(), store.path(f.sha256()));
            else return null;
        }
        return where;
    }

    /**
     * Writes the outputs into {@code cwd}, each atomically. Not collisions: a file that already
     * holds the output's content, a file still equal to the input the job was given, and a file
     * equal to what an earlier attempt of this job recorded (a commit cut short by a crash).
     * Under {@link CollisionPolicy#FAIL} a real collision writes nothing and names the files.
     *
     * @param replaceable inputs and earlier attempts' recorded outputs, by path
     */
    public void commit(String user, Path cwd, List<OutputFile> outputs, Map<String, Integer> modes,
                       List<FileEntry> replaceable, Map<String, Path> blobs, CollisionPolicy policy) throws IOException {
        if (actsForOthers(user)) requireOwnedBy(user, cwd);
        List<FileEntry> files = new ArrayList<>();
        for (OutputFile f : outputs) files.add(new FileEntry(f.path(), f.sha256(), f.size(), modes.getOrDefault(f.path(), 0644)));
        List<Path> written = OutputCollector.commitInto(cwd, files, new Manifest(dedupe(replaceable)), blobs::get, policy);
        if (actsForOthers(user)) {
            UserPrincipal owner = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName(user);
            for (Path p : written) Files.setOwner(p, owner);
        }
    }

    private static List<FileEntry> dedupe(List<FileEntry> entries) {
        Map<String, FileEntry> byPath = new LinkedHashMap<>();
        for (FileEntry e : entries) byPath.put(e.path(), e);
        // A name cannot be both a file and a directory's prefix in one manifest: keep files only where consistent.
        List<FileEntry> out = new ArrayList<>(byPath.values());
        try {
            new Manifest(out);
            return out;
        } catch (IllegalArgumentException e) {
            return List.of();
        }
    }

    /** Forgets an attempt's fetched blobs (committed, or stale). */
    public void discardFetched(String jobId, int attempt) {
        try {
            SandboxFiles.delete(outputsDir(jobId, attempt));
        } catch (IOException e) {
            // left for the next clean-up; harmless
        }
    }

    private Path outputsDir(String jobId, int attempt) {
        return work.resolve(jobId).resolve("outputs-" + attempt);
    }

    static Manifest manifest(List<InputFile> inputs) {
        List<FileEntry> entries = new ArrayList<>();
        for (InputFile f : inputs) entries.add(new FileEntry(f.path(), f.sha256(), f.size(), f.mode()));
        return new Manifest(entries);
    }

    static List<StagedFile> staged(List<InputFile> inputs) {
        List<StagedFile> out = new ArrayList<>();
        for (InputFile f : inputs) {
            out.add(StagedFile.newBuilder().setPath(f.path()).setSha256(f.sha256()).setSize(f.size()).setMode(f.mode()).build());
        }
        return out;
    }

    /** True when the daemon runs as an account other than the job's user (root on a shared machine). */
    boolean actsForOthers(String user) {
        return !user.equals(daemonUser);
    }

    private static void requireReadableBy(String user, Path file, String rel) throws IOException {
        PosixFileAttributes a = Files.readAttributes(file, PosixFileAttributes.class);
        boolean ok = a.owner().getName().equals(user) ? a.permissions().contains(PosixFilePermission.OWNER_READ)
                : a.permissions().contains(PosixFilePermission.OTHERS_READ);
        if (!ok) {
            throw new java.nio.file.AccessDeniedException(rel, null, "input " + rel + " is not readable by " + user
                    + " (herd stages only files you own or that anyone may read); check its owner and mode");
        }
    }

    private static void requireOwnedBy(String user, Path dir) throws IOException {
        UserPrincipal owner = Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS);
        if (!owner.getName().equals(user)) {
            throw new java.nio.file.AccessDeniedException(dir.toString(), null, "herd writes outputs only into a directory you own; "
                    + dir + " belongs to " + owner.getName() + " (run from your own directory, or use --shared)");
        }
    }
}
