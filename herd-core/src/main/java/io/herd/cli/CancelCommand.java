package io.herd.cli;

import io.herd.api.proto.CancelJobsRequest;
import io.herd.api.proto.ControlRequest;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "cancel", description = "Cancel jobs, or every unfinished job of an array: each job's whole process tree on its host is killed.")
final class CancelCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Parameters(paramLabel = "ID", arity = "1..*", description = "A job id, or an array id (every job of the array).") List<String> ids;

    @Override
    public Integer call() throws Exception {
        System.out.println(Control.call(data.dir(), ControlRequest.newBuilder()
                .setCancel(CancelJobsRequest.newBuilder().addAllJobIds(ids)).build()).getAck().getMessage());
        return 0;
    }
}
