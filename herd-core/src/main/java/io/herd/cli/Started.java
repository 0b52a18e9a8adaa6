package io.herd.cli;

import io.herd.api.proto.StatusReply;
import io.herd.node.DataDir;
import io.herd.node.NodeConfig;
import java.time.Duration;

/** Starts the daemon after init/join, in the background or attached, and says where it listens. */
final class Started {
    private Started() {}

    static int report(DataDir dir, NodeConfig cfg, boolean foreground) throws Exception {
        String where = "gRPC " + cfg.grpcAddress() + ", membership " + cfg.advertiseHost() + ":" + cfg.membershipPort();
        if (foreground) {
            System.out.println("node " + cfg.name() + " starting in the foreground (" + where + "); Ctrl-C leaves the cluster");
            return DaemonCommand.runDaemon(dir);
        }
        StatusReply s = DaemonLauncher.start(dir, Duration.ofSeconds(60));
        System.out.println("node " + s.getNodeName() + " is up (pid " + s.getPid() + ", " + where + ", log " + dir.log() + ")");
        return 0;
    }
}
