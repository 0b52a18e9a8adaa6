package io.herd.node;

import com.google.protobuf.ByteString;
import io.herd.api.Caller;
import io.herd.api.ControlServer;
import io.herd.api.proto.ClientInput;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.JobExit;
import io.herd.api.proto.JobInfo;
import io.herd.api.proto.JobOutput;
import io.herd.api.proto.JobSpecMsg;
import io.herd.api.proto.PsReply;
import io.herd.api.proto.RunInput;
import io.herd.api.proto.SubmitReply;
import io.herd.home.JobManager;
import io.herd.journal.Filter;
import io.herd.journal.JobRecord;
import io.herd.journal.JobSpec;
import io.herd.journal.JobState;
import io.herd.journal.Journal;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/** The control channel's job requests: submit (attached or not), arrays, ps, history, logs, wait, cancel. */
final class JobControl {

    private final JobManager jobs;
    private final Journal journal;
    private final Clock clock;
    private final LogsControl logs;
    private final ArrayControl arrays;

    JobControl(JobManager jobs, Journal journal, Clock clock) {
        this.jobs = jobs;
        this.journal = journal;
        this.clock = clock;
        this.logs = new LogsControl(jobs, journal);
        this.arrays = new ArrayControl(jobs, journal);
    }

    static JobSpec spec(JobSpecMsg m) {
        if (m.getArgvCount() == 0) throw new IllegalArgumentException("no command given: use `herd run -- COMMAND [ARGS…]`");
        return JobSpec.builder(m.getArgvList()).cwd(m.getCwd()).env(m.getEnvMap()).cpus(Math.max(1, m.getCpus()))
                .memBytes(m.getMemBytes()).constraint(m.getConstraint().isBlank() ? null : m.getConstraint())
                .needs(new HashSet<>(m.getNeedsList())).shared(m.getShared())
                .inputGlobs(m.getInputsList()).outputGlobs(m.getOutputGlobsList())
                .onCollision(m.getOnCollision().isBlank() ? null : m.getOnCollision())
                .net(m.getNet()).checkpoint(m.getCheckpoint().isBlank() ? null : m.getCheckpoint())
                .pinnedNode(m.getNode().isBlank() ? null : m.getNode()).local(m.getLocal())
                .maxRetries(m.getMaxRetries() < 0 ? 3 : m.getMaxRetries()).build();
    }

    ControlReply handle(ControlRequest req, Caller caller) {
        try {
            return switch (req.getKindCase()) {
                case SUBMIT -> {
                    String id = jobs.submit(caller.user(), spec(req.getSubmit().getSpec()), null);
                    yield ControlReply.newBuilder().setSubmitted(SubmitReply.newBuilder().setJobId(id)).build();
                }
                case SUBMIT_ARRAY -> arrays.submitted(arrays.submit(req.getSubmitArray(), caller));
                case PS -> ps(req.getPs().getAll(), caller);
                case HISTORY -> history(req.getHistory());
                case WAIT -> {
                    List<List<JobRecord>> named = new ArrayList<>();
                    for (String id : req.getWait().getJobIdsList()) named.add(jobsNamed(id));
                    JobRecord last = null;
                    for (List<JobRecord> group : named) {
                        // An array answers for its first job that failed, else its last: 0 only if all succeeded.
                        JobRecord failed = null;
                        for (JobRecord r : group) {
                            JobRecord ended = jobs.whenDone(r.id()).join();
                            if (failed == null && exit(ended).getCode() != 0) failed = ended;
                            last = ended;
                        }
                        if (failed != null) last = failed;
                    }
                    yield ControlReply.newBuilder().setExit(exit(last)).build();
                }
                case CANCEL -> {
                    List<List<JobRecord>> named = new ArrayList<>();
                    for (String id : req.getCancel().getJobIdsList()) {
                        List<JobRecord> group = jobsNamed(id);
                        String owner = group.get(0).user();
                        if (!caller.admin() && !owner.equals(caller.user())) {
                            yield ControlServer.error((group.size() == 1 && group.get(0).id().equals(id) ? "job " : "array ") + id
                                    + " belongs to " + owner + "; only they or an admin may cancel it", 77);
                        }
                        named.add(group);
                    }
                    List<String> lines = new ArrayList<>();
                    List<String> single = new ArrayList<>();
                    for (int i = 0; i < named.size(); i++) {
                        String id = req.getCancel().getJobIds(i);
                        List<JobRecord> group = named.get(i);
                        if (group.size() == 1 && group.get(0).id().equals(id)) {
                            if (jobs.cancel(id, caller.user())) single.add(id);
                            continue;
                        }
                        int n = 0;
                        for (JobRecord r : group) if (jobs.cancel(r.id(), caller.user())) n++;
                        lines.add("cancelled " + n + " of the " + group.size() + " jobs of array " + id
                                + (n < group.size() ? " (the others had already ended)" : ""));
                    }
                    if (!single.isEmpty()) lines.add(0, "cancelled " + String.join(" ", single));
                    yield ControlReply.newBuilder().setAck(io.herd.api.proto.Ack.newBuilder()
                            .setMessage(lines.isEmpty() ? "nothing to cancel: the jobs had already ended" : String.join("\n", lines))).build();
                }
                case HOME -> {
                    List<String> lines = new ArrayList<>();
                    for (String id : req.getHome().getJobIdsList()) {
                        JobRecord r = requireJob(id);
                        if (!caller.admin() && !r.user().equals(caller.user())) {
                            yield ControlServer.error("job " + id + " belongs to " + r.user() + "; only they or an admin may send it home", 77);
                        }
                        lines.add(jobs.sendHome(id, caller.user()));
                    }
                    yield ControlReply.newBuilder().setAck(io.herd.api.proto.Ack.newBuilder().setMessage(String.join("\n", lines))).build();
                }
                default -> ControlServer.error("unexpected request " + req.getKindCase(), 2);
            };
        } catch (IllegalArgumentException | NoSuchElementException e) {
            return ControlServer.error(e.getMessage(), 2);
        } catch (IllegalStateException e) {
            return ControlServer.error(e.getMessage(), 1);
        }
    }

    /** The jobs an ID names: that job, or every job of the array it names, in item order. */
    List<JobRecord> jobsNamed(String id) {
        Optional<JobRecord> job = journal.get(id);
        if (job.isPresent()) return List.of(job.get());
        List<JobRecord> array = new ArrayList<>(journal.list(Filter.all().array(id)));
        if (array.isEmpty()) throw new NoSuchElementException("no job or array " + id + " on this node; see `herd ps --all`");
        java.util.Collections.reverse(array); // newest first -> item order
        return array;
    }

    JobRecord requireJob(String id) {
        return journal.get(id).orElseThrow(() -> new NoSuchElementException("no job " + id + " on this node; see `herd ps --all`"));
    }

    private ControlReply ps(boolean all, Caller caller) {
        PsReply.Builder b = PsReply.newBuilder();
        long now = clock.millis();
        List<JobRecord> records = all ? journal.list(Filter.all().limit(1000)) : journal.incomplete();
        for (JobRecord r : records) {
            JobInfo i = info(r, now);
            String frozen = jobs.frozenReason(r.id());
            // Frozen is the host's word on a running attempt, not a journal state: shown, not stored.
            if (frozen != null && i.getState().equals("running")) i = i.toBuilder().setState("frozen").setReason(frozen).build();
            // Likewise why a queued job was last turned down at an offer (not journalled: offers are cheap).
            String declined = jobs.declinedReason(r.id());
            if (declined != null && i.getState().equals("queued")) i = i.toBuilder().setReason(declined).build();
            b.addJobs(i);
        }
        return ControlReply.newBuilder().setPs(b).build();
    }

    /** Finished jobs, newest first; everyone may list them, as with ps. */
    private ControlReply history(io.herd.api.proto.HistoryRequest h) {
        if (h.getLimit() < 0) throw new IllegalArgumentException("-n must be 0 (no limit) or more, got " + h.getLimit());
        if (!h.getJobId().isBlank()) {
            JobRecord r = requireJob(h.getJobId());
            io.herd.api.proto.HistoryReply.Builder one = io.herd.api.proto.HistoryReply.newBuilder().addJobs(info(r, clock.millis()));
            for (io.herd.journal.Event e : journal.events(r.id())) {
                one.addEvents(io.herd.api.proto.JobEvent.newBuilder().setTsMs(e.tsMs()).setKind(e.kind())
                        .setDetail(e.detail() == null ? "" : e.detail()));
            }
            return ControlReply.newBuilder().setHistory(one).build();
        }
        Filter f = Filter.all().states("done", "failed", "cancelled").limit(h.getLimit());
        if (!h.getUser().isBlank()) f = f.user(h.getUser());
        io.herd.api.proto.HistoryReply.Builder b = io.herd.api.proto.HistoryReply.newBuilder();
        long now = clock.millis();
        for (JobRecord r : journal.list(f)) b.addJobs(info(r, now));
        return ControlReply.newBuilder().setHistory(b).build();
    }

    static JobInfo info(JobRecord r, long now) {
        long end = r.finishedMs() != null ? r.finishedMs() : now;
        long start = r.startedMs() != null ? r.startedMs() : end;
        return JobInfo.newBuilder().setId(r.id()).setUser(r.user()).setState(r.state().name())
                .setNode(r.host() == null ? "" : r.host()).setCpuMillis(r.cpuMs()).setElapsedMillis(Math.max(0, end - start))
                .setCommand(String.join(" ", r.spec().argv())).setReason(r.reason() == null ? "" : r.reason())
                .setExitCode(r.exitCode() == null ? -1 : r.exitCode()).setAttempts(r.attempts())
                .setSubmittedMs(r.submittedMs()).setStartedMs(r.startedMs() == null ? 0 : r.startedMs())
                .setFinishedMs(r.finishedMs() == null ? 0 : r.finishedMs())
                .setArrayId(r.arrayId() == null ? "" : r.arrayId()).setArrayIndex(r.arrayIndex()).build();
    }

    static JobExit exit(JobRecord r) {
        JobExit.Builder b = JobExit.newBuilder().setState(r.state().name()).setHost(r.host() == null ? "" : r.host());
        JobState s = r.state();
        if (s instanceof JobState.Done d) {
            b.setCode(d.exitCode());
            if (d.exitCode() > 128 && d.exitCode() <= 192) b.setSignal(d.exitCode() - 128);
        } else if (s instanceof JobState.Failed f) {
            // The program's own failure code when it has one; else 127 (it never ran) or 125 (it ran, herd failed after).
            b.setCode(f.exitCode() > 0 ? f.exitCode() : f.exitCode() == 0 ? 125 : 127).setReason(f.reason());
        } else if (s instanceof JobState.Held h) {
            b.setCode(125).setReason(h.reason());
        } else if (s instanceof JobState.Cancelled c) {
            b.setCode(130).setReason("cancelled by " + c.by());
        }
        return b.build();
    }

    /** {@code herd run}: submit attached, then stream output down and stdin/signals up until the job ends. */
    boolean serve(ControlRequest first, Caller caller, InputStream in, OutputStream out) throws IOException {
        if (first.getKindCase() == ControlRequest.KindCase.LOGS) return logs.serve(first.getLogs(), caller, in, out);
        if (first.getKindCase() == ControlRequest.KindCase.SUBMIT_ARRAY && first.getSubmitArray().getAttach()) {
            return arrays.serve(first.getSubmitArray(), caller, in, out);
        }
        if (first.getKindCase() != ControlRequest.KindCase.SUBMIT || !first.getSubmit().getAttach()) return false;
        JobSpec spec;
        try {
            spec = spec(first.getSubmit().getSpec());
        } catch (IllegalArgumentException e) {
            ControlServer.error(e.getMessage(), 2).writeDelimitedTo(out);
            out.flush();
            return true;
        }
        CompletableFuture<JobRecord> ended = new CompletableFuture<>();
        Object lock = new Object();
        JobManager.Attachment attach = new JobManager.Attachment() {
            void write(ControlReply r) {
                synchronized (lock) {
                    try {
                        r.writeDelimitedTo(out);
                        out.flush();
                    } catch (IOException e) {
                        // the client went away; the job goes on (herd ps, herd logs)
                    }
                }
            }

            @Override
            public void stdout(byte[] data) {
                write(ControlReply.newBuilder().setOutput(JobOutput.newBuilder().setStdout(ByteString.copyFrom(data))).build());
            }

            @Override
            public void stderr(byte[] data) {
                write(ControlReply.newBuilder().setOutput(JobOutput.newBuilder().setStderr(ByteString.copyFrom(data))).build());
            }

            @Override
            public void started(String host) {
            }

            @Override
            public void ended(JobRecord record) {
                ended.complete(record);
            }
        };
        String id;
        try {
            id = jobs.submit(caller.user(), spec, attach);
        } catch (IllegalArgumentException e) {
            ControlServer.error(e.getMessage(), 2).writeDelimitedTo(out);
            out.flush();
            return true;
        }
        synchronized (lock) {
            ControlReply.newBuilder().setSubmitted(SubmitReply.newBuilder().setJobId(id)).build().writeDelimitedTo(out);
            out.flush();
        }
        Thread pump = new Thread(() -> pumpInput(id, in), "herd-run-input-" + id);
        pump.setDaemon(true);
        pump.start();
        JobRecord r = ended.join();
        synchronized (lock) {
            ControlReply.newBuilder().setExit(exit(r)).build().writeDelimitedTo(out);
            out.flush();
        }
        return true;
    }

    private void pumpInput(String id, InputStream in) {
        try {
            while (true) {
                ControlRequest req = ControlRequest.parseDelimitedFrom(in);
                if (req == null) return;
                if (req.getKindCase() != ControlRequest.KindCase.INPUT) continue;
                ClientInput ci = req.getInput();
                RunInput ri = switch (ci.getKindCase()) {
                    case STDIN -> RunInput.newBuilder().setStdin(ci.getStdin()).build();
                    case STDIN_CLOSED -> RunInput.newBuilder().setStdinClosed(true).build();
                    case SIGNAL -> RunInput.newBuilder().setSignal(ci.getSignal()).build();
                    default -> null;
                };
                if (ri != null) jobs.input(id, ri);
            }
        } catch (IOException e) {
            // client closed
        }
    }
}
