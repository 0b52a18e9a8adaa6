package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The gRPC contexts over a real Netty server on loopback: member calls and the join call. */
class GrpcTlsTest {
    private static final MethodDescriptor.Marshaller<byte[]> BYTES = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
            return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
            try {
                return stream.readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };
    private static final MethodDescriptor<byte[], byte[]> WHO_AM_I = MethodDescriptor.<byte[], byte[]>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("herd.test.Peer/WhoAmI")
            .setRequestMarshaller(BYTES)
            .setResponseMarshaller(BYTES)
            .build();

    @TempDir
    Path tmp;

    private TestPki pki;
    private Revocations serverRev;
    private Server server;

    @BeforeEach
    void setUp() throws IOException {
        pki = TestPki.create(tmp, "lab");
        serverRev = pki.revocations("alpha");
        // Answers with the caller's node name as the daemon's interceptor would see it.
        ServerCallHandler<byte[], byte[]> handler = (call, headers) -> {
            SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
            String who = TlsContexts.peerName(session, serverRev).orElse("<anonymous>");
            call.sendHeaders(new Metadata());
            call.request(1);
            return new ServerCall.Listener<>() {
                @Override
                public void onHalfClose() {
                    call.sendMessage(who.getBytes(StandardCharsets.UTF_8));
                    call.close(Status.OK, new Metadata());
                }
            };
        };
        server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .sslContext(TlsContexts.grpcServer(pki.join("alpha"), serverRev))
                .addService(ServerServiceDefinition.builder("herd.test.Peer").addMethod(WHO_AM_I, handler).build())
                .build()
                .start();
    }

    @AfterEach
    void tearDown() throws InterruptedException {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        pki.close();
    }

    private String call(SslContext ctx) throws InterruptedException {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).sslContext(ctx).build();
        try {
            byte[] reply = ClientCalls.blockingUnaryCall(ch, WHO_AM_I,
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]);
            return new String(reply, StandardCharsets.UTF_8);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    @Test
    void membersCallEachOtherWithMutualTls() throws Exception {
        SslContext client = TlsContexts.grpcClient(pki.join("beta"), pki.revocations("beta"));
        assertThat(call(client)).isEqualTo("beta");
    }

    @Test
    void aRevokedMemberIsNoLongerNamedOnAnOpenConnection() throws Exception {
        NodeIdentity beta = pki.join("beta");
        SslContext client = TlsContexts.grpcClient(beta, pki.revocations("beta"));
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).sslContext(client).build();
        try {
            CallOptions opts = CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
            assertThat(new String(ClientCalls.blockingUnaryCall(ch, WHO_AM_I, opts, new byte[0]),
                    StandardCharsets.UTF_8)).isEqualTo("beta");
            serverRev.update(pki.ca.revoke("beta", java.time.Instant.now()));
            assertThat(new String(ClientCalls.blockingUnaryCall(ch, WHO_AM_I,
                    CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), new byte[0]),
                    StandardCharsets.UTF_8)).isEqualTo("<anonymous>");
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
        // A new connection is refused outright.
        assertThatThrownBy(() -> call(client)).isInstanceOf(StatusRuntimeException.class);
    }

    @Test
    void aJoiningNodeConnectsWithoutCertificateAfterCheckingThePin() throws Exception {
        PinnedTrustManager pinned = new PinnedTrustManager(Pins.pin(pki.ca.certificate().getPublicKey()));
        assertThat(call(TlsContexts.grpcJoinClient(pinned))).isEqualTo("<anonymous>");
        assertThat(pinned.pinnedCa()).isEqualTo(pki.ca.certificate());
        assertThat(call(TlsContexts.grpcJoinClient(Pins.pin(pki.ca.certificate().getPublicKey()))))
                .isEqualTo("<anonymous>");
    }

    @Test
    void aJoiningNodeWithAnotherClustersPinDoesNotConnect() {
        try (TestPki other = TestPki.create(tmp.resolve("other"), "lab")) {
            PinnedTrustManager pinned = new PinnedTrustManager(Pins.pin(other.ca.certificate().getPublicKey()));
            assertThatThrownBy(() -> call(TlsContexts.grpcJoinClient(pinned)))
                    .isInstanceOf(StatusRuntimeException.class)
                    .satisfies(e -> assertThat(((StatusRuntimeException) e).getStatus().getCode())
                            .isEqualTo(Status.Code.UNAVAILABLE));
            assertThatThrownBy(pinned::pinnedCa).isInstanceOf(IllegalStateException.class);
            byte[] otherPin = Pins.pin(other.ca.certificate().getPublicKey());
            assertThatThrownBy(() -> call(TlsContexts.grpcJoinClient(otherPin)))
                    .isInstanceOf(StatusRuntimeException.class)
                    .rootCause().hasMessageStartingWith("the server's cluster CA does not match the token's pin");
        }
    }

    @Test
    void aMemberOfAnotherClusterDoesNotConnect() {
        try (TestPki other = TestPki.create(tmp.resolve("other"), "lab")) {
            SslContext client = TlsContexts.grpcClient(other.join("beta"), other.revocations("beta"));
            assertThatThrownBy(() -> call(client)).isInstanceOf(StatusRuntimeException.class);
        }
    }
}
