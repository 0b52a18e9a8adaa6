package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.SendHomeRequest;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "home", description = "Send jobs back to their home node (this one): evicted from their host, they run here again.")
final class HomeCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Parameters(paramLabel = "ID", arity = "1..*") List<String> ids;

    @Override
    public Integer call() throws Exception {
        System.out.println(Control.call(data.dir(), ControlRequest.newBuilder()
                .setHome(SendHomeRequest.newBuilder().addAllJobIds(ids)).build()).getAck().getMessage());
        return 0;
    }
}
