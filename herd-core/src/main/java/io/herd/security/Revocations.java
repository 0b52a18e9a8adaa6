package io.herd.security;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.CRLException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster's current certificate revocation list as this node knows it, kept in
 * {@code dataDir/tls/crl.der}. CRLs spread from node to node; each node accepts only one signed by
 * the cluster CA and newer (higher CRL number) than the one it has, so a peer can neither forge a
 * revocation nor roll one back by replaying an older list.
 *
 * <p>Thread-safe: updates are serialised, readers see the latest list without locking.
 */
public final class Revocations {
    static final String FILE = "crl.der";

    private static final Logger log = LoggerFactory.getLogger(Revocations.class);

    private record State(X509CRL crl, BigInteger number, byte[] der) {}

    private static final State NONE = new State(null, null, new byte[0]);

    private final X509Certificate ca;
    private final Path file;
    private final List<Consumer<X509CRL>> listeners = new CopyOnWriteArrayList<>();
    private volatile State state = NONE;

    private Revocations(X509Certificate ca, Path file) {
        this.ca = ca;
        this.file = file;
    }

    /**
     * Loads the CRL saved in {@code dataDir/tls/crl.der}, or starts with none if there is no file.
     *
     * @throws IllegalStateException if the file exists but is not a CRL of this cluster's CA; it is
     *                               not ignored, because that would silently forget revocations
     */
    public static Revocations load(Path dataDir, X509Certificate caCert) {
        Objects.requireNonNull(caCert, "caCert");
        Path file = dataDir.resolve(NodeIdentity.DIR).resolve(FILE).toAbsolutePath();
        Revocations r = new Revocations(caCert, file);
        if (Files.exists(file)) {
            try {
                byte[] der = Files.readAllBytes(file);
                X509CRL crl = ClusterCa.parseCrl(der);
                r.state = new State(crl, r.check(crl), der);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read the revocation list " + file + ": "
                        + SecureFiles.describe(e), e);
            } catch (IllegalArgumentException e) {
                throw new IllegalStateException("the revocation list " + file + " is damaged or not from this"
                        + " cluster (" + e.getMessage() + "); replace it with crl.der from another node", e);
            }
        }
        return r;
    }

    /**
     * Adopts {@code crl} if it is signed by the cluster CA and newer than the current one, saves
     * it, then tells the listeners.
     *
     * @return true if it was adopted; false if it is not newer (the normal case when a peer
     *         repeats what we already know)
     * @throws IllegalArgumentException if it is not a valid CRL of this cluster's CA
     */
    public boolean update(X509CRL crl) {
        Objects.requireNonNull(crl, "crl");
        BigInteger number = check(crl);
        byte[] der;
        try {
            der = crl.getEncoded();
        } catch (CRLException e) {
            throw new IllegalArgumentException("the CRL cannot be encoded: " + e.getMessage(), e);
        }
        synchronized (this) {
            State old = state;
            if (old.number() != null && number.compareTo(old.number()) <= 0) {
                return false;
            }
            // Revocation takes effect in memory even if it cannot be saved: refusing a revoked peer
            // now matters more than remembering it across a restart.
            state = new State(crl, number, der);
            try {
                Files.createDirectories(file.getParent());
                SecureFiles.writeAtomically(file, der, SecureFiles.WORLD_READABLE);
            } catch (IOException e) {
                log.error("cannot save the revocation list to {}: {}; it applies until this daemon stops",
                        file, SecureFiles.describe(e));
            }
        }
        for (Consumer<X509CRL> l : listeners) {
            try {
                l.accept(crl);
            } catch (RuntimeException e) {
                log.warn("a revocation listener failed", e);
            }
        }
        return true;
    }

    /** Checks issuer and signature; returns the CRL number. */
    private BigInteger check(X509CRL crl) {
        if (!crl.getIssuerX500Principal().equals(ca.getSubjectX500Principal())) {
            throw new IllegalArgumentException("the CRL was issued by " + crl.getIssuerX500Principal().getName()
                    + ", not by this cluster's CA (" + ca.getSubjectX500Principal().getName() + ")");
        }
        try {
            crl.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the CRL's signature does not verify with this cluster's CA key", e);
        }
        byte[] ext = crl.getExtensionValue(Extension.cRLNumber.getId());
        if (ext == null) {
            throw new IllegalArgumentException("the CRL has no CRL number");
        }
        BigInteger number;
        try {
            number = ASN1Integer.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getValue();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the CRL's number is malformed", e);
        }
        if (number.signum() < 0) {
            throw new IllegalArgumentException("the CRL's number is negative");
        }
        return number;
    }

    /** Whether the current CRL lists this certificate. */
    public boolean isRevoked(X509Certificate cert) {
        X509CRL crl = state.crl();
        return crl != null && crl.isRevoked(cert);
    }

    /** The current CRL, or null before the first one arrives. */
    public X509CRL current() {
        return state.crl();
    }

    /** The current CRL in DER, or an empty array before the first one arrives. */
    public byte[] currentDer() {
        return state.der().clone();
    }

    /** The current CRL number, or -1 before the first CRL arrives; cheap to gossip and compare. */
    public long number() {
        BigInteger n = state.number();
        return n == null ? -1 : n.longValue();
    }

    /**
     * Calls {@code listener} with each newly adopted CRL, on the thread that called
     * {@link #update}, after the change is visible to {@link #isRevoked}.
     */
    public void addListener(Consumer<X509CRL> listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }
}
