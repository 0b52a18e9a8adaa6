package io.herd.cli;

import io.herd.node.DataDir;
import io.herd.node.NodeConfig;
import io.herd.node.NodeSetup;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", description = {"Create a new cluster: its CA, this node's key and certificate; start the daemon.",
        "The node listens on PORT for gRPC and PORT+1 for membership (defaults 7700 and 7701)."})
final class InitCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Mixin NewNodeOptions node;
    @Option(names = "--cluster", defaultValue = "herd", description = "Cluster name (default: ${DEFAULT-VALUE}).") String cluster;

    @Override
    public Integer call() throws Exception {
        DataDir dir = data.dir();
        NodeConfig cfg = NodeSetup.init(dir, node.name, cluster, node.endpoint());
        System.out.println("created cluster '" + cfg.cluster() + "' with node " + cfg.name() + " in " + dir);
        return Started.report(dir, cfg, node.foreground);
    }
}
