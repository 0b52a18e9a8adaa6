package io.herd.cli;

import io.herd.api.proto.StatusReply;
import io.herd.node.DataDir;
import io.herd.node.NodeConfig;
import io.herd.node.NodeSetup;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "init", description = {"Create a new cluster: its CA, this node's key and certificate; start the daemon.",
        "The node listens on PORT for gRPC and PORT+1 for membership (defaults 7700 and 7701)."})
final class InitCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Option(names = "--name", description = "Node name (default: host name).") String name;
    @Option(names = "--cluster", defaultValue = "herd", description = "Cluster name (default: ${DEFAULT-VALUE}).") String cluster;
    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "Address to listen on (default: " + NodeConfig.DEFAULT_LISTEN + ").") String listen;
    @Option(names = "--advertise", paramLabel = "HOST", description = "Address other nodes use to reach this one (default: the listen host, or this machine's first non-loopback address).") String advertise;
    @Option(names = "--foreground", description = "Run the daemon attached to this terminal instead of in the background.") boolean foreground;

    @Override
    public Integer call() throws Exception {
        DataDir dir = data.dir();
        NodeConfig cfg;
        try {
            cfg = NodeSetup.init(dir, name, cluster, NodeSetup.Endpoint.of(listen, advertise));
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), 2);
        }
        System.out.println("created cluster '" + cfg.cluster() + "' with node " + cfg.name() + " in " + dir);
        return Started.report(dir, cfg, foreground);
    }
}
