package io.herd.multihost;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import io.grpc.netty.shaded.io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.grpc.stub.StreamObserver;
import io.herd.api.proto.JobLaunch;
import io.herd.api.proto.JobServiceGrpc;
import io.herd.api.proto.JoinRequest;
import io.herd.api.proto.JoinServiceGrpc;
import io.herd.api.proto.NodeServiceGrpc;
import io.herd.api.proto.OfferRequest;
import io.herd.api.proto.PingRequest;
import io.herd.api.proto.RunEvent;
import io.herd.api.proto.RunInput;
import io.herd.security.ClusterCa;
import io.herd.security.NodeIdentity;
import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

/**
 * A rogue host's tools, run as its own JVM inside the rogue's network namespace (see
 * {@link RogueHostTest}). Each attack prints one line per try, {@code REFUSED …} or
 * {@code ACCEPTED …}, and exits 0 when every try was refused, 3 when any got through.
 *
 * <pre>
 * Rogue own-ca    HOST PORT SCRATCH MARKER   a node certificate of its own CA: ping, offer, run, membership
 * Rogue stolen    HOST PORT DATADIR MARKER   a (revoked) node's key and certificate copied from DATADIR: the same
 * Rogue garbage   HOST PORT                  garbage, truncated and oversized frames to both ports, plain and in TLS
 * Rogue join-expired HOST PORT DATADIR TOKEN MYADDR   a join with an expired token, the client's clock set back
 * </pre>
 */
public final class Rogue {

    private static final List<String> results = new ArrayList<>();

    private Rogue() {}

    public static void main(String[] args) throws Exception {
        String host = args[1];
        int port = Integer.parseInt(args[2]);
        switch (args[0]) {
            case "own-ca" -> {
                NodeIdentity id;
                try (ClusterCa ca = ClusterCa.create("lab", Path.of(args[3]).resolve("rogue-ca"))) {
                    KeyPair kp = NodeIdentity.generateKey();
                    // Same cluster name, a plausible node name: only the CA differs.
                    id = new NodeIdentity(kp.getPrivate(), ca.issueSelf("n2", kp.getPublic()), ca.certificate());
                }
                withIdentity(host, port, id.key(), id.chain(), args[4]);
            }
            case "stolen" -> {
                NodeIdentity id = NodeIdentity.load(Path.of(args[3]));
                withIdentity(host, port, id.key(), id.chain(), args[4]);
            }
            case "garbage" -> garbage(host, port);
            case "join-expired" -> {
                // A token past its expiry, sent by a rogue whose clock says it is still good
                // (the real CLI refuses an expired token itself, before sending it).
                io.herd.security.JoinToken token = io.herd.security.JoinToken.parse(args[4]);
                java.time.Clock early = java.time.Clock.fixed(token.expires().minusSeconds(3600), java.time.ZoneOffset.UTC);
                try {
                    io.herd.node.NodeSetup.join(new io.herd.node.DataDir(Path.of(args[3])), host + ":" + port, args[4], "r3",
                            new io.herd.node.NodeSetup.Endpoint(args[5], port, args[5]), early);
                    result(false, "expired token join");
                } catch (io.herd.node.NodeSetup.SetupException e) {
                    result(true, "expired token join: " + e.getMessage());
                }
            }
            default -> throw new IllegalArgumentException("unknown attack " + args[0]);
        }
        results.forEach(System.out::println);
        System.exit(results.stream().anyMatch(r -> r.startsWith("ACCEPTED")) ? 3 : 0);
    }

    private static void result(boolean refused, String what) {
        results.add((refused ? "REFUSED " : "ACCEPTED ") + what);
    }

    // ---- a certificate the cluster does not trust (any more) ------------------------------

    private static void withIdentity(String host, int port, PrivateKey key, X509Certificate[] chain, String marker) throws Exception {
        SslContext tls = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.3").keyManager(key, chain).build();
        ManagedChannel ch = NettyChannelBuilder.forAddress(host, port).sslContext(tls).overrideAuthority("herd").build();
        try {
            result(refusedCall(() -> NodeServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .ping(PingRequest.newBuilder().setFrom("n2").build())), "ping");
            JobLaunch forged = JobLaunch.newBuilder().setJobId("n1.999999").setAttempt(1).setUser("root")
                    .addArgv("/bin/sh").addArgv("-c").addArgv("echo owned > " + marker).setShared(true)
                    .setCwd(Path.of(marker).getParent().toString()).build();
            result(refusedCall(() -> JobServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
                    .offer(OfferRequest.newBuilder().setJob(forged).build())), "forged offer");
            result(refusedRun(ch, forged), "forged job submission (Run)");
        } finally {
            ch.shutdownNow();
        }
        result(refusedTls(host, port + 1, key, chain), "membership TLS");
    }

    private static boolean refusedCall(Runnable call) {
        try {
            call.run();
            return false;
        } catch (StatusRuntimeException e) {
            Status.Code c = e.getStatus().getCode();
            return c == Status.Code.UNAUTHENTICATED || c == Status.Code.UNAVAILABLE || c == Status.Code.PERMISSION_DENIED;
        }
    }

    private static boolean refusedRun(ManagedChannel ch, JobLaunch job) throws Exception {
        CompletableFuture<Boolean> refused = new CompletableFuture<>();
        StreamObserver<RunInput> in = JobServiceGrpc.newStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).run(new StreamObserver<>() {
            @Override
            public void onNext(RunEvent e) {
                if (e.hasStarted()) refused.complete(false);
            }

            @Override
            public void onError(Throwable t) {
                Status.Code c = Status.fromThrowable(t).getCode();
                refused.complete(c == Status.Code.UNAUTHENTICATED || c == Status.Code.UNAVAILABLE || c == Status.Code.PERMISSION_DENIED);
            }

            @Override
            public void onCompleted() {
                refused.complete(false);
            }
        });
        in.onNext(RunInput.newBuilder().setStart(job).build());
        try {
            return refused.get(20, TimeUnit.SECONDS);
        } finally {
            in.onCompleted();
        }
    }

    /** True when the membership port will not talk TLS with this key (TLS 1.3: known at the first read). */
    private static boolean refusedTls(String host, int port, PrivateKey key, X509Certificate[] chain) {
        try {
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            if (key != null) {
                ks.setKeyEntry("k", key, new char[0], chain);
            }
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
                s.setSoTimeout(10_000);
                s.startHandshake();
                s.getOutputStream().write(new byte[] {0, 0, 0, 4, 1, 2, 3, 4});
                s.getOutputStream().flush();
                return s.getInputStream().read() < 0;
            }
        } catch (IOException e) {
            return true;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- garbage, truncated and oversized frames ------------------------------------------

    private static void garbage(String host, int port) throws Exception {
        Random r = new Random(42);
        byte[] junk = new byte[64 * 1024];
        r.nextBytes(junk);
        // A TLS record header that announces a ClientHello, then stops (a truncated frame).
        byte[] truncated = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03};
        // A TLS record header announcing 65535 bytes (more than TLS allows), then that many bytes.
        byte[] oversizedHeader = {0x16, 0x03, 0x03, (byte) 0xff, (byte) 0xff};
        for (int p : new int[] {port, port + 1}) {
            result(closedAfter(host, p, junk), "64 KiB of random bytes to port " + p);
            result(closedAfter(host, p, truncated), "a truncated TLS ClientHello to port " + p);
            byte[] big = new byte[oversizedHeader.length + 65535];
            System.arraycopy(oversizedHeader, 0, big, 0, oversizedHeader.length);
            result(closedAfter(host, p, big), "an oversized TLS record to port " + p);
            result(closedAfter(host, p, new byte[8 << 20]), "8 MiB of zeros to port " + p);
        }
        // Inside TLS on the gRPC port (it takes clients without a certificate, for the join):
        // not HTTP/2, then an HTTP/2 frame announcing 16 MiB, then a gRPC message far over the limit.
        result(tlsClosedAfter(host, port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes()), "HTTP/1.1 inside TLS to port " + port);
        byte[] preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes();
        byte[] h2 = new byte[preface.length + 9 + 1024];
        System.arraycopy(preface, 0, h2, 0, preface.length);
        int o = preface.length;
        h2[o] = (byte) 0xff; h2[o + 1] = (byte) 0xff; h2[o + 2] = (byte) 0xff;  // length 16 MiB - 1
        h2[o + 3] = 0x0;                                                          // DATA
        h2[o + 8] = 1;                                                            // stream 1
        result(tlsClosedAfter(host, port, h2), "an oversized HTTP/2 frame inside TLS to port " + port);
        SslContext noCert = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                .trustManager(InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.3").build();
        ManagedChannel ch = NettyChannelBuilder.forAddress(host, port).sslContext(noCert).overrideAuthority("herd")
                .maxInboundMessageSize(64 << 20).build();
        try {
            byte[] huge = new byte[32 << 20];
            boolean refused;
            try {
                JoinServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS).join(JoinRequest.newBuilder()
                        .setTokenId("x").setNodeName("rogue").setCsrDer(ByteString.copyFrom(huge)).build());
                refused = false;
            } catch (StatusRuntimeException e) {
                refused = e.getStatus().getCode() != Status.Code.OK;
            }
            result(refused, "a 32 MiB join request to port " + port);
        } finally {
            ch.shutdownNow();
        }
    }

    /** Writes {@code bytes} (as far as the server lets it) and reads: refused when the server closes without serving. */
    private static boolean closedAfter(String host, int port, byte[] bytes) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5000);
            s.setSoTimeout(15_000);
            return writeThenClosed(s.getOutputStream(), s.getInputStream(), bytes);
        } catch (IOException e) {
            return true;
        }
    }

    private static boolean tlsClosedAfter(String host, int port, byte[] bytes) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(null, InsecureTrustManagerFactory.INSTANCE.getTrustManagers(), null);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
                s.setSoTimeout(15_000);
                s.setEnabledProtocols(new String[] {"TLSv1.3"});
                s.setSSLParameters(withAlpn(s));
                s.startHandshake();
                return writeThenClosed(s.getOutputStream(), s.getInputStream(), bytes);
            }
        } catch (IOException e) {
            return true;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static javax.net.ssl.SSLParameters withAlpn(SSLSocket s) {
        javax.net.ssl.SSLParameters p = s.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2"});
        return p;
    }

    /** The server may answer with an error (an alert, a GOAWAY): at most a few KB, then it must close. */
    private static boolean writeThenClosed(OutputStream out, InputStream in, byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException closedWhileWriting) {
            return true;
        }
        try {
            byte[] buf = new byte[4096];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > 64 * 1024) return false;
            }
            return true;
        } catch (java.net.SocketTimeoutException e) {
            return false;   // still open, waiting for more: not closed as it should be
        } catch (IOException e) {
            return true;
        }
    }

    static boolean exists(Path p) { return Files.exists(p); }
}
