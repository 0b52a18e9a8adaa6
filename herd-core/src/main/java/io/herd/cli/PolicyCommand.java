package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.PolicyReply;
import io.herd.api.proto.PolicyRequest;
import io.herd.api.proto.PolicySetting;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "policy", description = {"This node's owner policy for guests.",
        "Keys: guest-cpus N  cores all guests together may use (e.g. 0.5); none or unlimited lifts the cap."},
        subcommands = {PolicyCommand.Set.class, PolicyCommand.Show.class})
final class PolicyCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand: try `herd policy show` or `herd policy set guest-cpus 0.5`");
    }

    @Command(name = "set", description = {"Set one policy key on this node (admin only); applied at once and kept",
            "across restarts. Example: herd policy set guest-cpus 0.5"})
    static final class Set implements Callable<Integer> {
        @Mixin DataOption data;
        @Parameters(index = "0", paramLabel = "KEY", description = "guest-cpus") String key;
        @Parameters(index = "1", paramLabel = "VALUE", description = "For guest-cpus: cores, e.g. 0.5 or 2; none or unlimited.") String value;

        @Override
        public Integer call() throws Exception {
            PolicyReply r = Control.call(data.dir(), ControlRequest.newBuilder()
                    .setPolicy(PolicyRequest.newBuilder().setKey(key).setValue(value)).build()).getPolicy();
            System.out.println(r.getMessage());
            return 0;
        }
    }

    @Command(name = "show", description = "Show this node's policy: one `key value` line per key.")
    static final class Show implements Callable<Integer> {
        @Mixin DataOption data;

        @Override
        public Integer call() throws Exception {
            PolicyReply r = Control.call(data.dir(), ControlRequest.newBuilder()
                    .setPolicy(PolicyRequest.getDefaultInstance()).build()).getPolicy();
            for (PolicySetting s : r.getSettingsList()) {
                System.out.println(s.getKey() + " " + s.getValue() + (s.getNote().isEmpty() ? "" : "  (" + s.getNote() + ")"));
            }
            return 0;
        }
    }
}
