package io.herd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.HistoryRequest;
import io.herd.api.proto.JobInfo;
import io.herd.cli.view.Units;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "history", description = {"List this node's finished jobs (done, failed, cancelled), newest first:",
        "id, user, state, exit code, node, submitted, wall time (run time of the last attempt), CPU time, attempts, command.",
        "With an ID: that job, finished or not, and every event of its journal (placed, refused, host lost, evicted,",
        "checkpointed, held…), oldest first."})
final class HistoryCommand implements Callable<Integer> {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

    @Mixin DataOption data;
    @Option(names = "--json", description = "Print a JSON array; times are epoch milliseconds (submittedMs, startedMs, finishedMs; null if never).") boolean json;
    @Option(names = "-n", paramLabel = "N", defaultValue = "50", description = "Show the newest N jobs; 0 shows all (default: ${DEFAULT-VALUE}).") int limit;
    @Option(names = "--user", paramLabel = "U", description = "Only this user's jobs.") String user;
    @picocli.CommandLine.Parameters(paramLabel = "ID", arity = "0..1", description = "One job: its line and its events.") String id;
    private static final DateTimeFormatter AT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS").withZone(ZoneId.systemDefault());

    @Override
    public Integer call() throws Exception {
        if (limit < 0) throw new CliException("-n must be 0 (all) or more, got " + limit, 2);
        HistoryRequest.Builder req = HistoryRequest.newBuilder().setLimit(limit);
        if (user != null) req.setUser(user);
        if (id != null) req.setJobId(id);
        io.herd.api.proto.HistoryReply reply = Control.call(data.dir(), ControlRequest.newBuilder().setHistory(req).build()).getHistory();
        List<JobInfo> jobs = reply.getJobsList();
        if (id != null) return oneJob(jobs.get(0), reply.getEventsList());
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (JobInfo j : jobs) rows.add(row(j));
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            return 0;
        }
        String fmt = "%-14s %-10s %-9s %4s %-10s %-19s %7s %7s %5s  %s%n";
        System.out.printf(fmt, "ID", "USER", "STATE", "EXIT", "NODE", "SUBMITTED", "WALL", "CPU", "TRIES", "COMMAND");
        for (JobInfo j : jobs) {
            String cmd = j.getCommand() + (j.getReason().isEmpty() || j.getState().equals("done") ? "" : "  [" + j.getReason() + "]");
            System.out.printf(fmt, j.getId(), j.getUser(), j.getState(), j.getExitCode() < 0 ? "-" : Integer.toString(j.getExitCode()),
                    j.getNode().isEmpty() ? "-" : j.getNode(), WHEN.format(Instant.ofEpochMilli(j.getSubmittedMs())),
                    wall(j) < 0 ? "-" : Units.duration(wall(j) / 1000.0), Units.duration(j.getCpuMillis() / 1000.0),
                    j.getAttempts(), cmd);
        }
        return 0;
    }

    private int oneJob(JobInfo job, List<io.herd.api.proto.JobEvent> events) throws Exception {
        if (json) {
            Map<String, Object> m = row(job);
            List<Map<String, Object>> list = new ArrayList<>();
            for (io.herd.api.proto.JobEvent e : events) {
                Map<String, Object> ev = new LinkedHashMap<>();
                ev.put("tsMs", e.getTsMs());
                ev.put("kind", e.getKind());
                ev.put("detail", e.getDetail().isEmpty() ? null : e.getDetail());
                list.add(ev);
            }
            m.put("events", list);
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
            return 0;
        }
        System.out.printf("%s  %s  %s  %s%n", job.getId(), job.getUser(), job.getState(), job.getCommand());
        for (io.herd.api.proto.JobEvent e : events) {
            System.out.printf("  %s  %-12s %s%n", AT.format(Instant.ofEpochMilli(e.getTsMs())), e.getKind(), e.getDetail());
        }
        return 0;
    }

    /** Run time of the attempt that ended the job, or -1 if it never started. */
    static long wall(JobInfo j) {
        return j.getStartedMs() > 0 && j.getFinishedMs() > 0 ? Math.max(0, j.getFinishedMs() - j.getStartedMs()) : -1;
    }

    static Map<String, Object> row(JobInfo j) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", j.getId());
        m.put("user", j.getUser());
        m.put("state", j.getState());
        m.put("exitCode", j.getExitCode() < 0 ? null : j.getExitCode());
        m.put("node", j.getNode().isEmpty() ? null : j.getNode());
        m.put("submittedMs", j.getSubmittedMs());
        m.put("startedMs", j.getStartedMs() > 0 ? j.getStartedMs() : null);
        m.put("finishedMs", j.getFinishedMs() > 0 ? j.getFinishedMs() : null);
        m.put("wallMs", wall(j) < 0 ? null : wall(j));
        m.put("cpuMs", j.getCpuMillis());
        m.put("attempts", j.getAttempts());
        m.put("command", j.getCommand());
        m.put("arrayId", j.getArrayId().isEmpty() ? null : j.getArrayId());
        m.put("arrayIndex", j.getArrayId().isEmpty() ? null : j.getArrayIndex());
        m.put("reason", j.getReason().isEmpty() ? null : j.getReason());
        return m;
    }
}
