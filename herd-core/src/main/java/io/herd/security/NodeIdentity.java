package io.herd.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's TLS identity: its private key, its certificate from the cluster CA, and the CA
 * certificate it trusts. Stored in {@code dataDir/tls/} as {@code node.key} (0600),
 * {@code node.crt} and {@code ca.crt}. The key is made on this node and never leaves it; the CA
 * only ever sees a CSR.
 */
public final class NodeIdentity {
    static final String DIR = "tls";
    static final String KEY_FILE = "node.key";
    static final String CERT_FILE = "node.crt";
    static final String CA_FILE = "ca.crt";

    private static final Logger log = LoggerFactory.getLogger(NodeIdentity.class);

    private final PrivateKey key;
    private final X509Certificate certificate;
    private final X509Certificate caCertificate;
    private final String name;

    /**
     * @throws IllegalArgumentException if the certificate was not issued by {@code caCertificate},
     *                                  has no valid node name, or is not for {@code key}
     */
    public NodeIdentity(PrivateKey key, X509Certificate certificate, X509Certificate caCertificate) {
        this.key = Objects.requireNonNull(key, "key");
        this.certificate = Objects.requireNonNull(certificate, "certificate");
        this.caCertificate = Objects.requireNonNull(caCertificate, "caCertificate");
        try {
            certificate.verify(caCertificate.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the node certificate (" + Certs.describe(certificate)
                    + ") was not issued by the cluster CA (" + Certs.describe(caCertificate) + ")", e);
        }
        this.name = Certs.commonName(certificate).filter(NodeNames::isValid).orElseThrow(() ->
                new IllegalArgumentException("the node certificate (" + Certs.describe(certificate)
                        + ") does not name a valid node"));
        if (!Certs.keysMatch(key, certificate.getPublicKey())) {
            throw new IllegalArgumentException("the private key does not belong to the node certificate ("
                    + Certs.describe(certificate) + ")");
        }
    }

    /** A new EC P-256 key pair for this node. */
    public static KeyPair generateKey() {
        return Certs.newKeyPair();
    }

    /**
     * A PKCS#10 certificate request (DER) for {@code nodeName}, signed with the node's key so the
     * CA knows the requester holds it.
     *
     * @throws IllegalArgumentException if the name is not a valid node name
     */
    public static byte[] csr(KeyPair kp, String nodeName) {
        String name = NodeNames.normalize(nodeName);
        try {
            return new JcaPKCS10CertificationRequestBuilder(Certs.commonNameOnly(name), kp.getPublic())
                    .build(Certs.signer(kp.getPrivate()))
                    .getEncoded();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Whether this node already has an identity (or part of one) on disk. True even if a file is
     * missing, so that a damaged identity is reported by {@link #load} instead of being silently
     * replaced by a new join.
     */
    public static boolean exists(Path dataDir) {
        Path dir = dataDir.resolve(DIR);
        return Files.exists(dir.resolve(KEY_FILE)) || Files.exists(dir.resolve(CERT_FILE));
    }

    /**
     * Loads the identity saved by {@link #save}.
     *
     * @throws IllegalStateException with a message for the user if a file is missing, unreadable
     *                               or does not match the others
     */
    public static NodeIdentity load(Path dataDir) {
        Path dir = dataDir.resolve(DIR).toAbsolutePath();
        for (String f : new String[] {KEY_FILE, CERT_FILE, CA_FILE}) {
            if (!Files.exists(dir.resolve(f))) {
                throw new IllegalStateException("this node has no cluster identity: " + dir.resolve(f)
                        + " is missing; run `herd init` or `herd join` first");
            }
        }
        PrivateKey key;
        X509Certificate cert;
        X509Certificate ca;
        Path current = dir.resolve(KEY_FILE);
        try {
            warnIfExposed(current);
            key = Pem.readPrivateKey(current);
            current = dir.resolve(CERT_FILE);
            cert = Pem.readCertificate(current);
            current = dir.resolve(CA_FILE);
            ca = Pem.readCertificate(current);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + current + ": " + SecureFiles.describe(e), e);
        }
        try {
            return new NodeIdentity(key, cert, ca);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("the files in " + dir + " do not belong together: " + e.getMessage()
                    + "; restore them from one backup or join the cluster again", e);
        }
    }

    private static void warnIfExposed(Path keyFile) throws IOException {
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(keyFile);
        if (!SecureFiles.OWNER_ONLY.containsAll(perms)) {
            log.warn("{} can be read by other users; run `chmod 600 {}`", keyFile, keyFile);
        }
    }

    /**
     * Writes the three files, each atomically; {@code dataDir/tls} is created owner-only.
     *
     * @throws UncheckedIOException if a file cannot be written
     */
    public void save(Path dataDir) {
        Path dir = dataDir.resolve(DIR).toAbsolutePath();
        try {
            SecureFiles.createPrivateDirectory(dir);
            // CA first and key before certificate: an interrupted save is detected by load() as a
            // key/certificate mismatch, never mistaken for a working identity.
            SecureFiles.writeAtomically(dir.resolve(CA_FILE), Pem.encode(caCertificate), SecureFiles.WORLD_READABLE);
            SecureFiles.writeAtomically(dir.resolve(KEY_FILE), Pem.encode(key), SecureFiles.OWNER_ONLY);
            SecureFiles.writeAtomically(dir.resolve(CERT_FILE), Pem.encode(certificate), SecureFiles.WORLD_READABLE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot save this node's identity in " + dir + ": "
                    + SecureFiles.describe(e), e);
        }
    }

    public PrivateKey key() {
        return key;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public X509Certificate caCertificate() {
        return caCertificate;
    }

    /** The node name: the CN of its certificate. */
    public String name() {
        return name;
    }

    /** What this node presents in TLS: its certificate, then the CA certificate. */
    public X509Certificate[] chain() {
        return new X509Certificate[] {certificate, caCertificate};
    }

    @Override
    public String toString() {
        return "NodeIdentity[" + name + ", serial " + certificate.getSerialNumber().toString(16) + "]";
    }
}
