package io.herd.node;

import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.proto.Ack;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LogsRequest;
import io.herd.home.JobManager;
import io.herd.journal.JobRecord;
import io.herd.journal.Journal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@code herd logs [-f] ID}: the job's log files from this (home) node, in {@link Frames#CHUNK}
 * pieces. Following wakes on every write the job's attempt makes (no polling of the files) and
 * ends with the job's exit status once it has ended and both files are drained.
 */
final class LogsControl {

    private final JobManager jobs;
    private final Journal journal;

    LogsControl(JobManager jobs, Journal journal) {
        this.jobs = jobs;
        this.journal = journal;
    }

    boolean serve(LogsRequest req, Caller caller, InputStream in, OutputStream out) throws IOException {
        Frames frames = new Frames(out);
        String id = req.getJobId();
        JobRecord r = journal.get(id).orElse(null);
        if (r == null) {
            frames.send(ControlServer.error("no job " + id + " on this node; job logs are kept on the node the job was "
                    + "submitted on (see `herd history` there)", 2));
            return true;
        }
        if (!caller.admin() && !r.user().equals(caller.user())) {
            frames.send(ControlServer.error("job " + id + " belongs to " + r.user() + "; only they or an admin may read its logs", 77));
            return true;
        }
        Path dir = jobs.logDir(id);
        if (!req.getFollow()) {
            frames.sendFile(dir.resolve("stdout"), 0, false);
            frames.sendFile(dir.resolve("stderr"), 0, true);
            frames.send(ControlReply.newBuilder().setAck(Ack.newBuilder().setMessage(r.state().name())).build());
            return true;
        }
        Semaphore wake = new Semaphore(0);
        CompletableFuture<JobRecord> ended = jobs.whenDone(id);
        ended.thenRun(wake::release);
        Thread reader = watchForHangUp(in, wake);
        try (AutoCloseable watch = jobs.watchOutput(id, wake::release)) {
            long outPos = 0;
            long errPos = 0;
            while (true) {
                // Read "ended" before draining: once it is true the attempt has closed its files,
                // so this drain is the last.
                boolean last = ended.isDone();
                outPos = frames.sendFile(dir.resolve("stdout"), outPos, false);
                errPos = frames.sendFile(dir.resolve("stderr"), errPos, true);
                if (last) break;
                // Woken by new output, the job's end or the client hanging up; the timeout only
                // bounds a missed wake-up.
                wake.tryAcquire(5, TimeUnit.SECONDS);
                wake.drainPermits();
                if (!reader.isAlive()) return true;
            }
            frames.send(ControlReply.newBuilder().setExit(JobControl.exit(ended.join())).build());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away
        } catch (Exception e) {
            throw new IOException(e);
        }
        return true;
    }

    /** A thread that ends (and wakes the follower) when the client closes the connection. */
    static Thread watchForHangUp(InputStream in, Semaphore wake) {
        Thread t = new Thread(() -> {
            try {
                while (ControlRequest.parseDelimitedFrom(in) != null) {
                    // nothing else is expected from a follower
                }
            } catch (IOException e) {
                // closed
            }
            wake.release();
        }, "herd-logs-hangup");
        t.setDaemon(true);
        t.start();
        return t;
    }
}
