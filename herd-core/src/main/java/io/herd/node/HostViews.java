package io.herd.node;

import io.herd.membership.NodeView;
import io.herd.scheduler.HostView;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** What placement sees of a node: its row of the cluster map, as a {@link HostView}. */
final class HostViews {

    private HostViews() {
    }

    /**
     * The node's gossiped state, labels, guest CPU cap and whether it takes guests. A label is a plain
     * name, so it becomes a key with an empty value: {@code label==fast}
     * holds where the key is present.
     */
    static HostView of(NodeView v) {
        return new HostView(v.name(), v.state(), v.cores(), v.speed(), v.load(), v.cpuPercent(), v.memFreeBytes(),
                v.memTotalBytes(), v.guestSlots(), v.guestJobs(), labelMap(v.labels()), Set.of(), 0, v.guestCpus(),
                v.acceptsGuests() ? "" : closed(v), v.policyStamp(), v.ownerMemReserveBytes());
    }

    /** "locked (backup running)", "window (next opens Mon 19:00)": the word and the gossiped reason. */
    private static String closed(NodeView v) {
        return v.guestsReason().isEmpty() ? v.guests() : v.guests() + " (" + v.guestsReason() + ")";
    }

    static Map<String, String> labelMap(List<String> labels) {
        Map<String, String> m = new HashMap<>();
        for (String l : labels) m.put(l, "");
        return m;
    }
}
