package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.PolicyReply;
import io.herd.api.proto.PolicyRequest;
import io.herd.api.proto.PolicySetting;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "policy", description = {"This node's owner policy for guests. Keys:",
        "  accept                 always | when-idle 10m | never |",
        "                         windows \"Mon-Fri 19:00-08:00; Sat-Sun\"",
        "  guest-cpus N|none      cores all guests together may use (e.g. 0.5)",
        "  guest-mem-max SIZE     most memory one guest may have (e.g. 4G, none)",
        "  guest-network yes|no   guests that ask (--net) get the network",
        "  guest-mem-default SIZE, guest-pids-max N, accept-unsandboxed yes|no",
        "  allow-users, deny-users, allow-nodes, deny-nodes   comma lists or none;",
        "                         deny wins",
        "  guest-io RATE|none     disk bandwidth of all guests per device (50MB/s)",
        "  owner-io-latency T|off the owner's write+fsync time over which guests",
        "                         back off, then freeze (25ms)",
        "  owner-mem-reserve SIZE|N%  memory kept for the owner (25%)",
        "`herd lock` / `herd unlock` stop and resume lending at once."},
        subcommands = {PolicyCommand.Set.class, PolicyCommand.Show.class})
final class PolicyCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand: try `herd policy show` or `herd policy set guest-cpus 0.5`");
    }

    @Command(name = "set", description = {"Set one policy key on this node (admin only); applied at once and",
            "kept across restarts. A bad value changes nothing. Examples:",
            "  herd policy set guest-cpus 0.5",
            "  herd policy set accept when-idle 10m",
            "  herd policy set accept windows \"Mon-Fri 19:00-08:00; Sat-Sun\""})
    static final class Set implements Callable<Integer> {
        @Mixin DataOption data;
        @Parameters(index = "0", paramLabel = "KEY", description = "accept, guest-cpus, guest-mem-max, ... (see herd help policy)") String key;
        @Parameters(index = "1..*", arity = "1..*", paramLabel = "VALUE",
                description = "The value; several words are joined with spaces (accept when-idle 10m).") java.util.List<String> value;

        @Override
        public Integer call() throws Exception {
            PolicyReply r = Control.call(data.dir(), ControlRequest.newBuilder()
                    .setPolicy(PolicyRequest.newBuilder().setKey(key).setValue(String.join(" ", value))).build()).getPolicy();
            System.out.println(r.getMessage());
            return 0;
        }
    }

    @Command(name = "show", description = {"Show this node's policy: one `key value` line per key, then whether",
            "it takes guests now (the lock and the accept rule)."})
    static final class Show implements Callable<Integer> {
        @Mixin DataOption data;

        @Override
        public Integer call() throws Exception {
            PolicyReply r = Control.call(data.dir(), ControlRequest.newBuilder()
                    .setPolicy(PolicyRequest.getDefaultInstance()).build()).getPolicy();
            for (PolicySetting s : r.getSettingsList()) {
                System.out.println(s.getKey() + " " + s.getValue() + (s.getNote().isEmpty() ? "" : "  (" + s.getNote() + ")"));
            }
            if (!r.getAccepting().isEmpty()) {
                System.out.println();
                System.out.println("accepting guests now: " + (r.getAccepting().equals("yes") ? "yes" : "no, " + r.getAccepting()));
            }
            return 0;
        }
    }
}
