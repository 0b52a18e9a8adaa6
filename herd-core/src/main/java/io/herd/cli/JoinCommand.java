package io.herd.cli;

import io.herd.node.DataDir;
import io.herd.node.NodeConfig;
import io.herd.node.NodeSetup;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "join", description = {"Join an existing cluster with a token from `herd token`; start the daemon.",
        "Verifies the cluster CA's pin, makes this node's key and gets its certificate through a CSR."})
final class JoinCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Mixin NewNodeOptions node;
    @Parameters(index = "0", paramLabel = "ADDR", description = "HOST:PORT of the node that printed the token.") String address;
    @Option(names = "--token", required = true, paramLabel = "T", description = "The join token printed by `herd token`.") String token;

    @Override
    public Integer call() throws Exception {
        DataDir dir = data.dir();
        NodeConfig cfg = NodeSetup.join(dir, address, token, node.name, node.endpoint(), Clock.systemUTC());
        System.out.println("joined cluster '" + cfg.cluster() + "' as node " + cfg.name() + " (data in " + dir + ")");
        return Started.report(dir, cfg, node.foreground);
    }
}
