package io.herd.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Trusts exactly the node certificates of one cluster: a peer is accepted if its leaf
 * certificate is signed by the cluster CA, is currently valid, is not a CA itself, is meant for
 * TLS, and is not on the {@link Revocations} list. Whatever else the peer sends in its chain is
 * ignored; trust comes only from the CA certificate this node holds.
 *
 * <p>The host name is deliberately not checked: nodes are identified by the CN of their
 * certificate (see {@link TlsContexts#peerName}), and their addresses change. Because this class
 * extends {@link X509ExtendedTrustManager}, the JDK does not add a host name check of its own.
 */
public final class CaTrustManager extends X509ExtendedTrustManager {
    private static final Set<String> UNDERSTOOD_CRITICAL = Set.of(
            Extension.basicConstraints.getId(), Extension.keyUsage.getId(),
            Extension.extendedKeyUsage.getId(), Extension.subjectAlternativeName.getId());
    private static final int DIGITAL_SIGNATURE = 0;

    private static final Logger log = LoggerFactory.getLogger(CaTrustManager.class);
    /** A refused peer is logged at most once per this many ms per address and reason (a flood must not fill the disk). */
    private static final long LOG_EVERY_MS = 10_000;
    private static final java.util.concurrent.ConcurrentHashMap<String, long[]> refusedPeers = new java.util.concurrent.ConcurrentHashMap<>();

    private final X509Certificate ca;
    private final Revocations revocations;
    private final Clock clock;

    public CaTrustManager(X509Certificate caCertificate, Revocations revocations) {
        this(caCertificate, revocations, Clock.systemUTC());
    }

    CaTrustManager(X509Certificate caCertificate, Revocations revocations, Clock clock) {
        this.ca = Objects.requireNonNull(caCertificate, "caCertificate");
        this.revocations = Objects.requireNonNull(revocations, "revocations");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * Checks a peer's chain (leaf first).
     *
     * @param purpose {@link KeyPurposeId#id_kp_clientAuth} or {@link KeyPurposeId#id_kp_serverAuth}
     */
    void check(X509Certificate[] chain, KeyPurposeId purpose) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the peer sent no certificate");
        }
        X509Certificate leaf = chain[0];
        String who = "the peer's certificate (" + Certs.describe(leaf) + ")";
        if (!leaf.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new CertificateException(who + " was issued by " + leaf.getIssuerX500Principal().getName()
                    + ", not by this cluster's CA; is the peer a member of another herd cluster?");
        }
        try {
            leaf.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new CertificateException(who + " is not signed by this cluster's CA", e);
        }
        if (leaf.getBasicConstraints() != -1) {
            throw new CertificateException(who + " is a CA certificate, not a node certificate");
        }
        Date now = new Date(clock.millis());
        try {
            leaf.checkValidity(now);
        } catch (CertificateExpiredException e) {
            throw new CertificateException(who + " expired on " + leaf.getNotAfter(), e);
        } catch (CertificateNotYetValidException e) {
            throw new CertificateException(who + " is not valid until " + leaf.getNotBefore()
                    + "; check the clocks of both machines", e);
        }
        try {
            ca.checkValidity(now);
        } catch (CertificateExpiredException | CertificateNotYetValidException e) {
            throw new CertificateException("this cluster's CA certificate is valid only from " + ca.getNotBefore()
                    + " to " + ca.getNotAfter() + "; check this machine's clock", e);
        }
        Set<String> critical = leaf.getCriticalExtensionOIDs();
        if (critical != null && !UNDERSTOOD_CRITICAL.containsAll(critical)) {
            throw new CertificateException(who + " has critical extensions herd does not understand");
        }
        boolean[] keyUsage = leaf.getKeyUsage();
        if (keyUsage != null && !keyUsage[DIGITAL_SIGNATURE]) {
            throw new CertificateException(who + " may not be used for signatures, which TLS 1.3 needs");
        }
        List<String> eku;
        try {
            eku = leaf.getExtendedKeyUsage();
        } catch (CertificateParsingException e) {
            throw new CertificateException(who + " has a malformed extended key usage", e);
        }
        if (eku == null || !eku.contains(purpose.getId())) {
            throw new CertificateException(who + " is not meant for TLS "
                    + (purpose.equals(KeyPurposeId.id_kp_clientAuth) ? "clients" : "servers"));
        }
        if (revocations.isRevoked(leaf)) {
            throw new CertificateException(who + " has been revoked; this node was removed from the cluster");
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClient(chain, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, KeyPurposeId.id_kp_serverAuth);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClient(chain, socket == null || socket.getInetAddress() == null ? null
                : socket.getInetAddress().getHostAddress() + ":" + socket.getPort());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, KeyPurposeId.id_kp_serverAuth);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClient(chain, engine == null || engine.getPeerHost() == null ? null : engine.getPeerHost() + ":" + engine.getPeerPort());
    }

    /**
     * A client this node refuses is logged with its address (where the TLS stack knows it): an
     * attacker with a certificate of another CA, a removed node's stolen one. Rate-limited per
     * address and reason, so a flood of handshakes cannot fill the log.
     */
    private void checkClient(X509Certificate[] chain, String peer) throws CertificateException {
        try {
            check(chain, KeyPurposeId.id_kp_clientAuth);
        } catch (CertificateException e) {
            logRefusal(peer == null ? "a peer" : peer, e.getMessage());
            throw e;
        }
    }

    static void logRefusal(String peer, String why) {
        long now = System.currentTimeMillis();
        // One line per address and reason: a flood of the same attempt is counted, a new one shows.
        String key = (peer.contains(":") ? peer.substring(0, peer.lastIndexOf(':')) : peer) + " " + why;
        if (refusedPeers.size() > 10_000) refusedPeers.clear();
        long[] seen = refusedPeers.computeIfAbsent(key, h -> new long[] {0, 0});
        synchronized (seen) {
            seen[1]++;
            if (now - seen[0] < LOG_EVERY_MS) return;
            long more = seen[1] - 1;
            seen[0] = now;
            seen[1] = 0;
            log.warn("refused a TLS client from {}: {}{}", peer, why, more > 0 ? " (and " + more + " more from there since the last line)" : "");
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, KeyPurposeId.id_kp_serverAuth);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {ca};
    }
}
