package io.herd.cli;

import io.herd.api.ControlClient;
import io.herd.api.proto.ClientInput;
import io.herd.api.proto.ControlReply;
import io.herd.api.proto.ControlRequest;
import io.herd.api.proto.SubmitRequest;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "run", description = {"Run a command on the best node and wait for it, as if it ran here: output streamed live,",
        "stdin forwarded, Ctrl-C and SIGTERM passed to the job, herd's exit status is the job's.",
        "With --each: one job per item, each job's output printed when it ends (grouped), Ctrl-C cancels the rest,",
        "exit status 0 if all exited 0, else the number that did not (at most 101)."})
final class RunCommand implements Callable<Integer> {
    @Mixin DataOption data;
    @Mixin JobOptions job;

    @Override
    public Integer call() throws Exception {
        var dir = data.dir();
        if (job.each != null) return ArrayRun.run(dir, job);
        if (!ControlClient.isRunning(dir.root())) throw new ControlClient.NoDaemonException(dir.root());
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(dir.socket()));
            OutputStream up = new java.io.BufferedOutputStream(io.herd.api.ChannelStreams.out(ch), 65536);
            InputStream down = new java.io.BufferedInputStream(io.herd.api.ChannelStreams.in(ch), 65536);
            Object lock = new Object();
            ControlRequest.newBuilder().setSubmit(SubmitRequest.newBuilder().setSpec(job.spec(true)).setAttach(true)).build()
                    .writeDelimitedTo(up);
            up.flush();
            forwardSignals(up, lock);
            Thread stdin = new Thread(() -> pumpStdin(up, lock), "herd-stdin");
            stdin.setDaemon(true);
            stdin.start();
            while (true) {
                ControlReply r = ControlReply.parseDelimitedFrom(down);
                if (r == null) throw new CliException("the herd daemon closed the connection; see " + dir.log());
                switch (r.getKindCase()) {
                    case ERROR -> throw new CliException(r.getError().getMessage(), r.getError().getExitCode() == 0 ? 1 : r.getError().getExitCode());
                    case OUTPUT -> {
                        if (!r.getOutput().getStdout().isEmpty()) {
                            r.getOutput().getStdout().writeTo(System.out);
                            System.out.flush();
                        }
                        if (!r.getOutput().getStderr().isEmpty()) {
                            r.getOutput().getStderr().writeTo(System.err);
                            System.err.flush();
                        }
                    }
                    case EXIT -> {
                        var x = r.getExit();
                        if (!x.getReason().isEmpty() && !x.getState().equals("done")) System.err.println("herd: job " + x.getState() + ": " + x.getReason());
                        return x.getCode();
                    }
                    default -> { }
                }
            }
        }
    }

    private static void send(OutputStream up, Object lock, ClientInput in) {
        synchronized (lock) {
            try {
                ControlRequest.newBuilder().setInput(in).build().writeDelimitedTo(up);
                up.flush();
            } catch (java.io.IOException e) {
                // the daemon went away; the reader reports it
            }
        }
    }

    private static void pumpStdin(OutputStream up, Object lock) {
        byte[] buf = new byte[65536];
        try {
            int n;
            while ((n = System.in.read(buf)) > 0) {
                send(up, lock, ClientInput.newBuilder().setStdin(com.google.protobuf.ByteString.copyFrom(buf, 0, n)).build());
            }
        } catch (java.io.IOException ignored) {
            // stdin closed
        }
        send(up, lock, ClientInput.newBuilder().setStdinClosed(true).build());
    }

    /** Ctrl-C, SIGTERM and SIGHUP go to the job's whole process group instead of ending herd. */
    @SuppressWarnings("restriction")
    private static void forwardSignals(OutputStream up, Object lock) {
        for (String[] s : new String[][] {{"INT", "2"}, {"TERM", "15"}, {"HUP", "1"}}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(s[0]),
                        sig -> send(up, lock, ClientInput.newBuilder().setSignal(Integer.parseInt(s[1])).build()));
            } catch (IllegalArgumentException ignored) {
                // signal not available here
            }
        }
    }
}
