package io.herd.cli;

import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.TokenRequest;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "token", description = {"Print a ready-to-paste `herd join` command for a new node.",
        "The token holds a one-time, expiring secret and the pin of the cluster CA's public key."})
final class TokenCommand implements Callable<Integer> {
    @Mixin DataOption data;

    @Option(names = "--ttl", defaultValue = "1h", paramLabel = "DURATION", description = "How long the token is valid: 30m, 1h, 2d (default: ${DEFAULT-VALUE}).") String ttl;
    @Option(names = "--uses", defaultValue = "1", description = "How many nodes may join with it (default: ${DEFAULT-VALUE}).") int uses;

    @Override
    public Integer call() throws Exception {
        Duration d = Durations.parse(ttl, "--ttl");
        if (uses < 1) throw new CliException("--uses must be at least 1", 2);
        var reply = Control.call(data.dir(), ControlRequest.newBuilder()
                .setToken(TokenRequest.newBuilder().setTtlSeconds(d.toSeconds()).setUses(uses)).build());
        System.out.println(reply.getToken().getJoinCommand());
        return 0;
    }
}
