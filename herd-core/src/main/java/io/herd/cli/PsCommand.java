package io.herd.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.JobInfo;
import io.herd.api.proto.PsRequest;
import io.herd.cli.view.Units;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "ps", description = "List this node's jobs: id, user, state, node, CPU time, elapsed, array (id#number), command.")
final class PsCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Option(names = "--all", description = "Include finished jobs.") boolean all;
    @Option(names = "--json", description = "Print a JSON array.") boolean json;

    @Override
    public Integer call() throws Exception {
        List<JobInfo> jobs = Control.call(data.dir(), ControlRequest.newBuilder().setPs(PsRequest.newBuilder().setAll(all)).build())
                .getPs().getJobsList();
        if (json) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (JobInfo j : jobs) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", j.getId());
                m.put("user", j.getUser());
                m.put("state", j.getState());
                m.put("node", j.getNode());
                m.put("cpuMillis", j.getCpuMillis());
                m.put("elapsedMillis", j.getElapsedMillis());
                m.put("command", j.getCommand());
                m.put("exitCode", j.getExitCode());
                m.put("attempts", j.getAttempts());
                m.put("reason", j.getReason());
                m.put("arrayId", j.getArrayId().isEmpty() ? null : j.getArrayId());
                m.put("arrayIndex", j.getArrayId().isEmpty() ? null : j.getArrayIndex());
                rows.add(m);
            }
            System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(rows));
            return 0;
        }
        System.out.printf("%-14s %-10s %-9s %-10s %7s %8s %-16s %s%n", "ID", "USER", "STATE", "NODE", "CPU", "ELAPSED", "ARRAY", "COMMAND");
        for (JobInfo j : jobs) {
            String state = j.getState() + (j.getState().equals("done") && j.getExitCode() != 0 ? "(" + j.getExitCode() + ")" : "");
            String cmd = j.getCommand() + (j.getReason().isEmpty() ? "" : "  [" + j.getReason() + "]");
            // An array job shows its array and its {#} (1-based), e.g. home.7#3.
            String array = j.getArrayId().isEmpty() ? "-" : j.getArrayId() + "#" + (j.getArrayIndex() + 1);
            System.out.printf("%-14s %-10s %-9s %-10s %7s %8s %-16s %s%n", j.getId(), j.getUser(), state, j.getNode(),
                    Units.duration(j.getCpuMillis() / 1000.0), Units.duration(j.getElapsedMillis() / 1000.0), array, cmd);
        }
        return 0;
    }
}
