package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.NodeInfo;
import io.herd.api.proto.NodesRequest;
import io.herd.api.proto.StatusRequest;
import io.herd.membership.NodeView;
import io.herd.node.DataDir;
import java.io.IOException;
import java.util.List;

/** Small helpers for commands that talk to the local daemon. */
final class Control {
    private Control() {}

    static ControlReply call(DataDir dir, ControlRequest req) throws IOException {
        return ControlClient.call(dir.root(), req);
    }

    static List<NodeView> nodes(DataDir dir) throws IOException {
        return call(dir, ControlRequest.newBuilder().setNodes(NodesRequest.getDefaultInstance()).build())
                .getNodes().getNodesList().stream().map(Control::view).toList();
    }

    static io.herd.api.proto.StatusReply status(DataDir dir) throws IOException {
        return call(dir, ControlRequest.newBuilder().setStatus(StatusRequest.getDefaultInstance()).build()).getStatus();
    }

    static NodeView view(NodeInfo i) {
        return new NodeView(i.getName(), i.getAddress(), i.getState(), i.getCores(), i.getSpeed(), i.getLoad(),
                i.getCpuPercent(), i.getMemFreeBytes(), i.getMemTotalBytes(), i.getSwapFreeBytes(), i.getSwapTotalBytes(),
                i.getOwnerIdleSeconds(), i.getOwnerPresent(), i.getGuestJobs(), i.getGuestSlots(), i.getSandbox(),
                i.getVersion(), i.getLastHeardSeconds(), i.getSelf(), i.getLabelsList(), i.getGuestCpus(), i.getGuests(),
                i.getGuestsReason(), i.getPolicyStamp());
    }
}
