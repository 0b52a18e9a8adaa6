package io.herd.cli;

import io.herd.membership.NodeView;
import io.herd.node.DataDir;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Test-only bridge to package-private CLI helpers. */
public final class TestAccess {
    private TestAccess() {}

    public static void startDaemon(Path data) throws Exception {
        DaemonLauncher.start(new DataDir(data), Duration.ofSeconds(60));
    }

    public static List<NodeView> nodes(Path data) throws IOException {
        return Control.nodes(new DataDir(data));
    }

    public static io.herd.api.proto.StatusReply status(Path data) throws IOException {
        return Control.status(new DataDir(data));
    }
}
