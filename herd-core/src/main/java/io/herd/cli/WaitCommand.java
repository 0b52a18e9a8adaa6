package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.WaitRequest;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "wait", description = {"Wait for jobs and arrays to end; exits with the last one's exit status.",
        "An array's status is its first failed job's (by item), or 0 when every job succeeded."})
final class WaitCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Parameters(paramLabel = "ID", arity = "1..*", description = "A job id, or an array id (every job of the array).") List<String> ids;

    @Override
    public Integer call() throws Exception {
        var x = Control.call(data.dir(), ControlRequest.newBuilder().setWait(WaitRequest.newBuilder().addAllJobIds(ids)).build()).getExit();
        if (!x.getReason().isEmpty() && !x.getState().equals("done")) System.err.println("herd: job " + x.getState() + ": " + x.getReason());
        return x.getCode();
    }
}
