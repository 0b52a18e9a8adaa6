package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.ExpelRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "expel", description = "Evict every guest from this node now (admin): each is killed here and placed again by its home node.")
final class ExpelCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Option(names = "--reason", paramLabel = "TEXT", description = "Why, shown in the guests' history.") String reason;

    @Override
    public Integer call() throws Exception {
        System.out.println(Control.call(data.dir(), ControlRequest.newBuilder()
                .setExpel(ExpelRequest.newBuilder().setReason(reason == null ? "" : reason)).build()).getAck().getMessage());
        return 0;
    }
}
