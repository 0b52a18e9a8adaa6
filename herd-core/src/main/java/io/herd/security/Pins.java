package io.herd.security;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.util.HexFormat;

/**
 * Public-key pins: SHA-256 of a key's SubjectPublicKeyInfo DER, as in HPKP and kubeadm's
 * {@code --discovery-token-ca-cert-hash}. Pinning the key rather than the certificate keeps the
 * pin valid if the CA certificate is ever re-issued for the same key.
 */
public final class Pins {
    /** Length of a pin in bytes. */
    public static final int LENGTH = 32;
    private static final String DISPLAY_PREFIX = "sha256:";

    private Pins() {}

    public static byte[] pin(PublicKey key) {
        // getEncoded() of a JCA public key is the X.509 SubjectPublicKeyInfo DER.
        return sha256(key.getEncoded());
    }

    /** {@code sha256:} followed by the pin in lower-case hex, the form users see and compare. */
    public static String display(byte[] pin) {
        return DISPLAY_PREFIX + HexFormat.of().formatHex(pin);
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }
}
