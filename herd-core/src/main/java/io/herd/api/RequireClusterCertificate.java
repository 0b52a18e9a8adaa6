package io.herd.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.herd.security.Revocations;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets a call through only when the TLS peer presented a certificate issued by
 * the cluster CA (the trust manager has verified it during the handshake) and
 * that certificate is not revoked now: a TLS session may outlive a revocation.
 * The verified node name is put in the call's {@link Context} as {@link #PEER}.
 */
public final class RequireClusterCertificate implements ServerInterceptor {

    private static final Logger log = LoggerFactory.getLogger(RequireClusterCertificate.class);

    public static final Context.Key<String> PEER = Context.key("herd-peer-node");

    private final Revocations revocations;

    public RequireClusterCertificate(Revocations revocations) {
        this.revocations = revocations;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        X509Certificate leaf = null;
        if (session != null) {
            try {
                Certificate[] chain = session.getPeerCertificates();
                if (chain.length > 0 && chain[0] instanceof X509Certificate x) leaf = x;
            } catch (SSLPeerUnverifiedException e) {
                leaf = null;
            }
        }
        String method = call.getMethodDescriptor().getFullMethodName();
        if (leaf == null) {
            log.warn("refused {} from {}: no cluster certificate", method, call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
            call.close(Status.UNAUTHENTICATED.withDescription("a certificate of this herd cluster is required; join with `herd join`"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        if (revocations.isRevoked(leaf)) {
            log.warn("refused {} from revoked certificate {}", method, leaf.getSubjectX500Principal());
            call.close(Status.PERMISSION_DENIED.withDescription("this node's certificate has been revoked"), new Metadata());
            return new ServerCall.Listener<>() {};
        }
        String peer = io.herd.security.TlsContexts.peerName(session).orElse("?");
        return Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers, next);
    }
}
