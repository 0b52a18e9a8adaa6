package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LeaveRequest;
import io.herd.node.DataDir;
import java.nio.file.Files;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "leave", description = {"Leave the cluster gracefully: the node leaves every view at once and its daemon stops.",
        "Its data stays; `herd daemon` starts it again and it rejoins."})
final class LeaveCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Override
    public Integer call() throws Exception {
        DataDir dir = data.dir();
        String pid = Files.exists(dir.pidFile()) ? Files.readString(dir.pidFile()).trim() : null;
        var r = Control.call(dir, ControlRequest.newBuilder().setLeave(LeaveRequest.getDefaultInstance()).build());
        System.out.println(r.getAck().getMessage());
        // Return only once the daemon is gone, so scripts can rely on it.
        if (pid != null) {
            ProcessHandle.of(Long.parseLong(pid)).ifPresent(p -> p.onExit().orTimeout(15, java.util.concurrent.TimeUnit.SECONDS)
                    .exceptionally(t -> null).join());
        }
        if (ControlClient.isRunning(dir.root())) throw new CliException("the daemon for " + dir + " did not stop; see " + dir.log());
        return 0;
    }
}
