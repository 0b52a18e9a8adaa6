package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.LockRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code herd lock [--reason TEXT]}: the owner stops lending this node at once.
 * New guests are refused (homes hear it through gossip within about 2 s and stop
 * offering); guests already running go on. Kept across restarts until
 * {@code herd unlock}.
 */
@Command(name = "lock", description = {"Stop lending this node at once (admin only): no new guests until",
        "`herd unlock`, whatever the policy's accept rule says; guests already",
        "running go on. Kept across restarts.",
        "Example: herd lock --reason \"rendering until Friday\""})
final class LockCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Option(names = "--reason", paramLabel = "TEXT", description = "Why, shown by `herd nodes` and in refusals.")
    String reason = "";

    @Override
    public Integer call() throws Exception {
        return send(data, LockRequest.newBuilder().setReason(reason).build());
    }

    /** Sends the request to this node's daemon and prints its answer. */
    static int send(DataOption data, LockRequest request) throws java.io.IOException {
        System.out.println(Control.call(data.dir(), ControlRequest.newBuilder().setLock(request).build()).getAck().getMessage());
        return 0;
    }

    /** {@code herd unlock}: lend this node again, as its policy's accept rule says. */
    @Command(name = "unlock", description = {"Lend this node again after `herd lock` (admin only): guests are",
            "then welcome as the policy's accept rule says (see `herd policy show`)."})
    static final class Unlock implements Callable<Integer> {
        @Mixin DataOption data;

        @Override
        public Integer call() throws Exception {
            return send(data, LockRequest.newBuilder().setUnlock(true).build());
        }
    }
}
