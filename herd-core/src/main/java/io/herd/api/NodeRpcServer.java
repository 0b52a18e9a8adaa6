package io.herd.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.stub.StreamObserver;
import io.herd.api.proto.CrlReply;
import io.herd.api.proto.GetCrlRequest;
import io.herd.api.proto.JoinReply;
import io.herd.api.proto.JoinRequest;
import io.herd.api.proto.JoinServiceGrpc;
import io.herd.api.proto.NodeServiceGrpc;
import io.herd.api.proto.PingReply;
import io.herd.api.proto.PingRequest;
import io.herd.api.proto.RevokeNodeReply;
import io.herd.api.proto.RevokeNodeRequest;
import io.herd.security.Revocations;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The node's gRPC endpoint: TLS 1.3 always; {@code JoinService} is the only
 * service reachable without a cluster certificate (it authenticates by join
 * token instead), every other service goes through
 * {@link RequireClusterCertificate}.
 */
public final class NodeRpcServer implements AutoCloseable {

    /** What the services need from the node. Implementations report user-facing failures as gRPC statuses. */
    public interface Backend {
        JoinReply join(JoinRequest request, String remoteAddress);

        RevokeNodeReply revoke(RevokeNodeRequest request, String peer);

        byte[] crl();

        String nodeName();

        String version();
    }

    /** The caller's network address, for the logs of join attempts. */
    static final Context.Key<String> REMOTE = Context.key("herd-remote-address");

    private final Server server;
    /** The same member services, in process, for this node's own calls (see {@link #selfChannel()}). */
    private final Server self;
    private final String selfName;

    public NodeRpcServer(InetSocketAddress bind, SslContext tls, Revocations revocations, Backend backend,
                         java.util.List<io.grpc.BindableService> memberServices) {
        NodeServiceGrpc.NodeServiceImplBase nodeService = new NodeServiceGrpc.NodeServiceImplBase() {
            @Override
            public void ping(PingRequest request, StreamObserver<PingReply> out) {
                out.onNext(PingReply.newBuilder().setNodeName(backend.nodeName()).setVersion(backend.version()).build());
                out.onCompleted();
            }

            @Override
            public void revokeNode(RevokeNodeRequest request, StreamObserver<RevokeNodeReply> out) {
                try {
                    out.onNext(backend.revoke(request, RequireClusterCertificate.PEER.get()));
                    out.onCompleted();
                } catch (io.grpc.StatusRuntimeException e) {
                    out.onError(e);
                }
            }

            @Override
            public void getCrl(GetCrlRequest request, StreamObserver<CrlReply> out) {
                out.onNext(CrlReply.newBuilder().setCrlDer(com.google.protobuf.ByteString.copyFrom(backend.crl())).build());
                out.onCompleted();
            }
        };
        JoinServiceGrpc.JoinServiceImplBase joinService = new JoinServiceGrpc.JoinServiceImplBase() {
            @Override
            public void join(JoinRequest request, StreamObserver<JoinReply> out) {
                try {
                    out.onNext(backend.join(request, REMOTE.get()));
                    out.onCompleted();
                } catch (io.grpc.StatusRuntimeException e) {
                    out.onError(e);
                }
            }
        };
        NettyServerBuilder builder = NettyServerBuilder.forAddress(bind);
        for (io.grpc.BindableService s : memberServices) {
            builder.addService(ServerInterceptors.intercept(s, new RequireClusterCertificate(revocations)));
        }
        // A random name: reachable only from this JVM, and two nodes in one JVM (tests) never meet.
        this.selfName = "herd-self-" + backend.nodeName() + "-" + java.util.UUID.randomUUID();
        InProcessServerBuilder selfBuilder = InProcessServerBuilder.forName(selfName);
        ServerInterceptor asSelf = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata h, ServerCallHandler<Q, R> next) {
                return Contexts.interceptCall(Context.current().withValue(RequireClusterCertificate.PEER, backend.nodeName()), call, h, next);
            }
        };
        for (io.grpc.BindableService s : memberServices) selfBuilder.addService(ServerInterceptors.intercept(s, asSelf));
        this.self = selfBuilder.build();
        this.server = builder
                .sslContext(tls)
                .maxInboundMessageSize(4 * 1024 * 1024)
                .maxInboundMetadataSize(16 * 1024)
                .handshakeTimeout(10, TimeUnit.SECONDS)
                .permitKeepAliveTime(5, TimeUnit.SECONDS)
                .addService(ServerInterceptors.intercept(nodeService, new RequireClusterCertificate(revocations)))
                .addService(ServerInterceptors.intercept(joinService, new ServerInterceptor() {
                    @Override
                    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata h, ServerCallHandler<Q, R> next) {
                        String remote = String.valueOf(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
                        return Contexts.interceptCall(Context.current().withValue(REMOTE, remote), call, h, next);
                    }
                }))
                .build();
    }

    public void start() throws IOException {
        server.start();
        self.start();
    }

    /**
     * A channel to this node's own member services that never leaves the JVM: a home that hosts
     * its own job (most of a small cluster's jobs) talks to its host side without TLS, HTTP/2 or
     * a socket. The callee sees this node's own name as {@link RequireClusterCertificate#PEER},
     * as it would over TLS. Only code in this JVM can open it: the name is random.
     */
    public io.grpc.ManagedChannel selfChannel() {
        return InProcessChannelBuilder.forName(selfName).build();
    }

    public int port() {
        return server.getPort();
    }

    @Override
    public void close() {
        self.shutdownNow();
        server.shutdown();
        try {
            if (!server.awaitTermination(2, TimeUnit.SECONDS)) server.shutdownNow();
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
