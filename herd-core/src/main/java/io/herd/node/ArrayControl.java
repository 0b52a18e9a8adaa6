package io.herd.node;

import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.proto.Ack;
import io.herd.api.proto.ArrayDone;
import io.herd.api.proto.ArrayJobEnded;
import io.herd.api.proto.ArraySubmitted;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.SubmitArrayRequest;
import io.herd.array.Expansion;
import io.herd.home.JobManager;
import io.herd.journal.ArraySummary;
import io.herd.journal.JobRecord;
import io.herd.journal.JobSpec;
import io.herd.journal.Journal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * {@code herd run|submit --each}: one request submits the whole array. Attached ({@code herd run}),
 * the connection then carries each job's output as the job ends — read from its log files, its
 * stdout then its stderr, never mixed with another job's — and its {@link ArrayJobEnded}, pushed
 * by the jobs' completion (nothing polls). A signal from the client cancels the unfinished jobs.
 */
final class ArrayControl {

    private final JobManager jobs;
    private final Journal journal;

    ArrayControl(JobManager jobs, Journal journal) {
        this.jobs = jobs;
        this.journal = journal;
    }

    JobManager.ArraySubmission submit(SubmitArrayRequest req, Caller caller) {
        JobSpec template = JobControl.spec(req.getTemplate());
        List<JobSpec> specs = Expansion.expand(template, req.getItemsList());
        return jobs.submitArray(caller.user(), template, specs);
    }

    ControlReply submitted(JobManager.ArraySubmission s) {
        return ControlReply.newBuilder().setArraySubmitted(ArraySubmitted.newBuilder().setArrayId(s.arrayId())
                .addAllJobIds(s.jobIds())).build();
    }

    boolean serve(SubmitArrayRequest req, Caller caller, InputStream in, OutputStream out) throws IOException {
        Frames frames = new Frames(out);
        JobManager.ArraySubmission s;
        try {
            s = submit(req, caller);
        } catch (IllegalArgumentException e) {
            frames.send(ControlServer.error(e.getMessage(), 2));
            return true;
        }
        frames.send(submitted(s));
        LinkedBlockingQueue<JobRecord> ended = new LinkedBlockingQueue<>();
        for (String id : s.jobIds()) jobs.whenDone(id).thenAccept(ended::add);
        Thread server = Thread.currentThread();
        boolean[] over = {false};
        Runnable hangUp = () -> {
            synchronized (over) {
                if (!over[0]) server.interrupt(); // never once this pooled thread has moved on
            }
        };
        Thread input = new Thread(() -> pumpInput(s, caller, in, out, frames, hangUp), "herd-array-input-" + s.arrayId());
        input.setDaemon(true);
        input.start();
        try {
            for (int i = 0; i < s.jobIds().size(); i++) {
                JobRecord r = ended.take();
                Path dir = jobs.logDir(r.id());
                synchronized (out) { // one job's frames in a row
                    frames.sendFile(dir.resolve("stdout"), 0, false);
                    frames.sendFile(dir.resolve("stderr"), 0, true);
                    frames.send(ControlReply.newBuilder().setArrayJob(ended(r)).build());
                }
            }
            ArraySummary sum = journal.arraySummary(s.arrayId());
            frames.send(ControlReply.newBuilder().setArrayDone(ArrayDone.newBuilder().setArrayId(s.arrayId())
                    .setSize(sum.size()).setRetried(sum.retried()).setCpuMillis(sum.cpuMs())).build());
        } catch (InterruptedException e) {
            // the client hung up; the jobs go on (herd ps, herd logs, herd history)
        } catch (IOException e) {
            // the client went away
        } finally {
            synchronized (over) {
                over[0] = true;
            }
            Thread.interrupted();
        }
        return true;
    }

    private static ArrayJobEnded ended(JobRecord r) {
        long run = r.startedMs() != null && r.finishedMs() != null ? Math.max(0, r.finishedMs() - r.startedMs()) : 0;
        return ArrayJobEnded.newBuilder().setJobId(r.id()).setIndex(r.arrayIndex())
                .setItem(r.spec().arrayItem() == null ? "" : r.spec().arrayItem()).setExit(JobControl.exit(r))
                .setAttempts(r.attempts()).setEvictions(r.evictions()).setCpuMillis(r.cpuMs()).setRunMillis(run).build();
    }

    /** Signals from the client cancel what has not finished; a hang-up stops the stream (not the jobs). */
    private void pumpInput(JobManager.ArraySubmission s, Caller caller, InputStream in, OutputStream out, Frames frames,
                           Runnable hangUp) {
        try {
            ControlRequest req;
            while ((req = ControlRequest.parseDelimitedFrom(in)) != null) {
                if (req.getKindCase() != ControlRequest.KindCase.INPUT || !req.getInput().hasSignal()) continue;
                // Holding the stream while cancelling puts the Ack before the cancelled jobs' ends.
                synchronized (out) {
                    int n = 0;
                    for (String id : s.jobIds()) {
                        if (jobs.cancel(id, caller.user())) n++;
                    }
                    frames.send(ControlReply.newBuilder().setAck(Ack.newBuilder().setMessage("cancelled " + n
                            + " unfinished job" + (n == 1 ? "" : "s") + " of array " + s.arrayId())).build());
                }
            }
        } catch (IOException e) {
            // closed
        }
        hangUp.run();
    }
}
