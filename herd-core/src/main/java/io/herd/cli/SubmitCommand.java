package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.SubmitRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "submit", description = {"Queue a command to run on the best node; prints the job id at once.",
        "With --each: queue one job per item; prints the array id and the job ids (first..last)."})
final class SubmitCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Mixin JobOptions job;

    @Override
    public Integer call() throws Exception {
        if (job.each != null) return ArrayRun.submit(data.dir(), job);
        var r = Control.call(data.dir(), ControlRequest.newBuilder()
                .setSubmit(SubmitRequest.newBuilder().setSpec(job.spec(false))).build());
        System.out.println(r.getSubmitted().getJobId());
        return 0;
    }
}
