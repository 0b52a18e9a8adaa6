package io.herd.cli;

import io.herd.node.NodeConfig;
import io.herd.node.NodeSetup;
import picocli.CommandLine.Option;

/** What {@code herd init} and {@code herd join} ask about the node they create. */
final class NewNodeOptions {
    @Option(names = "--name", description = "Node name (default: host name).") String name;
    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Address to listen on: gRPC on PORT, membership on PORT+1 (default: " + NodeConfig.DEFAULT_LISTEN + ").")
    String listen;
    @Option(names = "--advertise", paramLabel = "HOST",
            description = "Address other nodes use to reach this one (default: the listen host, or this machine's first non-loopback address).")
    String advertise;
    @Option(names = "--foreground", description = "Run the daemon attached to this terminal instead of in the background.")
    boolean foreground;

    NodeSetup.Endpoint endpoint() {
        try {
            return NodeSetup.Endpoint.of(listen, advertise);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), 2);
        }
    }
}
