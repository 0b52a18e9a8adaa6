package io.herd.security;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.TrustManager;

/**
 * The TLS configurations herd uses, all TLS 1.3 only, all trusting exactly the cluster CA.
 *
 * <p><b>No session resumption.</b> A TLS 1.3 resumption does not look at certificates again, so a
 * node revoked after its first handshake could come back with a session ticket. Servers therefore
 * issue no tickets: the JDK sends none when the server session timeout exceeds the 7-day ticket
 * limit of RFC 8446, which is what {@link #NO_TICKETS_TIMEOUT_SECONDS} is for. Clients in
 * addition drop every cached session when the CRL changes. Connections are long-lived, so the
 * cost is one full handshake per connection.
 *
 * <p>Revocation also does not end connections that are already open: the daemon re-checks the
 * peer per gRPC call ({@link #peerName(SSLSession, Revocations)}) and closes transport
 * connections of revoked peers when {@link Revocations} reports a change.
 */
public final class TlsContexts {
    private static final String TLS13 = "TLSv1.3";
    /** More than RFC 8446's 604800-second ticket lifetime limit, so the JDK issues no tickets. */
    static final int NO_TICKETS_TIMEOUT_SECONDS = 604_800 + 1;

    private TlsContexts() {}

    /**
     * A JDK SSLContext for node-to-node sockets (JGroups): the node's key and chain, the cluster CA
     * as only trust, TLS 1.3 only, and client certificates required on every server socket and
     * server-mode engine it creates.
     */
    public static SSLContext jdk(NodeIdentity id, Revocations rev) {
        try {
            SSLContext ctx = SSLContext.getInstance(TLS13);
            ctx.init(new KeyManager[] {new NodeKeyManager(id)},
                    new TrustManager[] {new CaTrustManager(id.caCertificate(), rev)}, new SecureRandom());
            ctx.getServerSessionContext().setSessionTimeout(NO_TICKETS_TIMEOUT_SECONDS);
            forgetSessionsOnRevocation(rev, ctx.getClientSessionContext());
            return new Tls13OnlyContext(ctx);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this Java runtime cannot set up TLS 1.3: " + e.getMessage(), e);
        }
    }

    /**
     * The gRPC server side. Client certificates are OPTIONAL here only so that the Join call,
     * which authenticates with a token, works for a node that has no certificate yet; any
     * certificate that is sent must pass {@link CaTrustManager}, and the daemon's interceptor
     * refuses every other call without a verified peer.
     */
    public static SslContext grpcServer(NodeIdentity id, Revocations rev) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forServer(new NodeKeyManager(id)), SslProvider.JDK)
                    .trustManager(new CaTrustManager(id.caCertificate(), rev))
                    .clientAuth(ClientAuth.OPTIONAL)
                    .protocols(TLS13)
                    .sessionTimeout(NO_TICKETS_TIMEOUT_SECONDS)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up the gRPC server's TLS: " + e.getMessage(), e);
        }
    }

    /** The gRPC client side between members: mutual TLS against the cluster CA. */
    public static SslContext grpcClient(NodeIdentity id, Revocations rev) {
        try {
            SslContext ctx = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .keyManager(new NodeKeyManager(id))
                    .trustManager(new CaTrustManager(id.caCertificate(), rev))
                    // Peers are identified by certificate CN, not by the address dialled.
                    .endpointIdentificationAlgorithm(null)
                    .protocols(TLS13)
                    .build();
            forgetSessionsOnRevocation(rev, ctx.sessionContext());
            return ctx;
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up the gRPC client's TLS: " + e.getMessage(), e);
        }
    }

    /**
     * The gRPC client of {@code herd join}: no client certificate, server checked against the
     * token's CA pin. Read {@link PinnedTrustManager#pinnedCa()} from {@code trust} after the call.
     */
    public static SslContext grpcJoinClient(PinnedTrustManager trust) {
        try {
            return GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
                    .trustManager(trust)
                    .endpointIdentificationAlgorithm(null)
                    .protocols(TLS13)
                    .build();
        } catch (SSLException e) {
            throw new IllegalStateException("cannot set up TLS for joining: " + e.getMessage(), e);
        }
    }

    /**
     * Like {@link #grpcJoinClient(PinnedTrustManager)}, for a caller that takes the CA certificate
     * from the Join reply (and checks its pin again) instead of from the handshake.
     */
    public static SslContext grpcJoinClient(byte[] expectedPin) {
        return grpcJoinClient(new PinnedTrustManager(expectedPin));
    }

    /**
     * The node name (certificate CN) of the peer of a handshake that this package's trust managers
     * verified; empty if the peer sent no certificate.
     */
    public static Optional<String> peerName(SSLSession session) {
        return peerCertificate(session).flatMap(Certs::commonName);
    }

    /**
     * Like {@link #peerName(SSLSession)}, but also empty if the peer's certificate has been revoked
     * since the handshake. For per-request checks on long-lived connections.
     */
    public static Optional<String> peerName(SSLSession session, Revocations rev) {
        return peerCertificate(session).filter(c -> !rev.isRevoked(c)).flatMap(Certs::commonName);
    }

    private static Optional<X509Certificate> peerCertificate(SSLSession session) {
        if (session == null) {
            return Optional.empty();
        }
        try {
            Certificate[] chain = session.getPeerCertificates();
            return chain.length > 0 && chain[0] instanceof X509Certificate leaf ? Optional.of(leaf) : Optional.empty();
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /** Makes sure a client never resumes a session with a server that has since been revoked. */
    private static void forgetSessionsOnRevocation(Revocations rev, SSLSessionContext sessions) {
        if (sessions == null) {
            return;
        }
        rev.addListener(crl -> {
            for (byte[] sessionId : Collections.list(sessions.getIds())) {
                SSLSession s = sessions.getSession(sessionId);
                if (s != null) {
                    s.invalidate();
                }
            }
        });
    }
}
