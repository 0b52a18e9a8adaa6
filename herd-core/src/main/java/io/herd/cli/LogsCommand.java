package io.herd.cli;

import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LogsRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "logs", description = {"Print a job's output as its home node (this node) recorded it: stdout here, stderr to stderr.",
        "With -f, keep printing as the job writes and exit with its status when it ends."})
final class LogsCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Option(names = {"-f", "--follow"}, description = "Follow the output until the job ends; exit with the job's status.") boolean follow;
    @Parameters(paramLabel = "ID", description = "The job id (see `herd ps --all` or `herd history`).") String id;

    @Override
    public Integer call() throws Exception {
        try (ControlStream s = ControlStream.open(data.dir(),
                ControlRequest.newBuilder().setLogs(LogsRequest.newBuilder().setJobId(id).setFollow(follow)).build())) {
            while (true) {
                ControlReply r = s.next();
                switch (r.getKindCase()) {
                    case OUTPUT -> Output.write(r.getOutput());
                    case ACK -> {
                        return 0;
                    }
                    case EXIT -> {
                        var x = r.getExit();
                        if (!x.getReason().isEmpty() && !x.getState().equals("done")) System.err.println("herd: job " + x.getState() + ": " + x.getReason());
                        return x.getCode();
                    }
                    default -> { }
                }
            }
        }
    }
}
