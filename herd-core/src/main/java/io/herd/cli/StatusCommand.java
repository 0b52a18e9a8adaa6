package io.herd.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "status", description = "Show this node's daemon: name, cluster, addresses, pid, version.")
final class StatusCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Override
    public Integer call() throws Exception {
        var s = Control.status(data.dir());
        System.out.printf("node %s of cluster %s%n  gRPC %s, membership %s%n  pid %d, herd %s%s%n  %d member(s) in view%n",
                s.getNodeName(), s.getClusterName(), s.getGrpcAddress(), s.getMembershipAddress(), s.getPid(), s.getVersion(),
                s.getHoldsCa() ? ", holds the cluster CA" : "", s.getMembers());
        System.out.printf("  files: %s received as a host, %s sent back; content store holds %s%n",
                io.herd.cli.view.Units.bytes(s.getStagedBytesReceived()), io.herd.cli.view.Units.bytes(s.getStagedBytesSent()),
                io.herd.cli.view.Units.bytes(s.getStoreBytes()));
        return 0;
    }
}
