package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.RemoveNodeRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "node", description = "Manage cluster nodes.", subcommands = NodeCommand.Remove.class)
final class NodeCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: try `herd node remove NAME`");
    }

    @Command(name = "remove", description = {"Remove a node from the cluster (admin only): its certificate is revoked,",
            "every node drops its connections, and it can never rejoin with that certificate."})
    static final class Remove implements Callable<Integer> {
        @Mixin DataOption data;
        @Parameters(paramLabel = "NAME", description = "The node to remove, as shown by `herd nodes`.") String name;

        @Override
        public Integer call() throws Exception {
            var r = Control.call(data.dir(), ControlRequest.newBuilder()
                    .setRemoveNode(RemoveNodeRequest.newBuilder().setNodeName(name)).build());
            System.out.println(r.getAck().getMessage());
            return 0;
        }
    }
}
