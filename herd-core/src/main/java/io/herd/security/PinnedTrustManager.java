package io.herd.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Date;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Server check for {@code herd join}, which has no CA certificate yet, only the pin in its token:
 * the server must present a CA certificate whose key has that pin, and a leaf signed by it. This
 * is what makes the join safe on an untrusted network: a man in the middle cannot produce a CA
 * with the pinned key, so the token's secret is only ever sent to the real cluster.
 *
 * <p>After a successful check, {@link #pinnedCa()} is the CA certificate to save and trust from then
 * on. One instance serves one join; it accepts no clients.
 */
public final class PinnedTrustManager extends X509ExtendedTrustManager {
    private final byte[] expectedPin;
    private volatile X509Certificate pinnedCa;

    public PinnedTrustManager(byte[] expectedPin) {
        if (expectedPin == null || expectedPin.length != Pins.LENGTH) {
            throw new IllegalArgumentException("a CA pin is " + Pins.LENGTH + " bytes");
        }
        this.expectedPin = expectedPin.clone();
    }

    /**
     * The server's CA certificate, whose key matches the pin.
     *
     * @throws IllegalStateException before a server has passed the check
     */
    public X509Certificate pinnedCa() {
        X509Certificate ca = pinnedCa;
        if (ca == null) {
            throw new IllegalStateException("no server has been verified against the pin yet");
        }
        return ca;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("the server sent no certificate");
        }
        X509Certificate ca = null;
        X509Certificate shown = null; // the CA the server claims, for the error message
        for (X509Certificate c : chain) {
            if (c.getBasicConstraints() < 0) {
                continue;
            }
            if (shown == null) {
                shown = c;
            }
            if (MessageDigest.isEqual(expectedPin, Pins.pin(c.getPublicKey()))) {
                ca = c;
                break;
            }
        }
        if (ca == null) {
            X509Certificate other = shown != null ? shown : chain[chain.length - 1];
            throw new CertificateException("the server's cluster CA does not match the token's pin (expected "
                    + Pins.display(expectedPin) + ", got " + Pins.display(Pins.pin(other.getPublicKey()))
                    + "); check the address, or get a new token from the cluster you want to join");
        }
        X509Certificate leaf = chain[0];
        try {
            leaf.verify(ca.getPublicKey());
            Date now = new Date();
            ca.checkValidity(now);
            leaf.checkValidity(now);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the server's certificate (" + Certs.describe(leaf)
                    + ") is not a valid certificate of the pinned cluster CA: " + e.getMessage(), e);
        }
        if (leaf.getBasicConstraints() != -1) {
            throw new CertificateException("the server presented a CA certificate as its own");
        }
        pinnedCa = ca;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("a joining node accepts no incoming TLS connections");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
