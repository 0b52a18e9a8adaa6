package io.herd.security;

import java.math.BigInteger;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;

/** A cluster CA in a temp directory and helpers to make nodes and odd certificates for tests. */
public final class TestPki implements AutoCloseable {
    final Path root;
    final ClusterCa ca;

    private TestPki(Path root, ClusterCa ca) {
        this.root = root;
        this.ca = ca;
    }

    public static TestPki create(Path root, String clusterName) {
        return new TestPki(root, ClusterCa.create(clusterName, root.resolve("ca")));
    }

    /** A node that joined with a token, as {@code herd join} does, at time {@code now}. */
    NodeIdentity join(String name, Instant now) {
        KeyPair kp = NodeIdentity.generateKey();
        JoinToken t = ca.createToken(Duration.ofMinutes(10), 1, now);
        try {
            X509Certificate cert = ca.redeem(t.id(), t.secret(), name, NodeIdentity.csr(kp, name), now);
            return new NodeIdentity(kp.getPrivate(), cert, ca.certificate());
        } catch (JoinRefusedException e) {
            throw new AssertionError(e);
        }
    }

    public NodeIdentity join(String name) {
        return join(name, Instant.now());
    }

    /** An empty revocation list for this cluster, stored under {@code root/<dirName>}. */
    public Revocations revocations(String dirName) {
        return Revocations.load(root.resolve(dirName), ca.certificate());
    }

    @Override
    public void close() {
        ca.close();
    }

    /** A self-signed certificate for {@code cn}: an end-entity one, or a CA when {@code ca}. */
    static X509Certificate selfSigned(String cn, KeyPair kp, boolean ca) throws Exception {
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(Certs.commonNameOnly(cn), BigInteger.TEN,
                Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(1))),
                Certs.commonNameOnly(cn), kp.getPublic())
                .addExtension(Extension.basicConstraints, true, ca ? new BasicConstraints(0) : new BasicConstraints(false))
                .addExtension(Extension.keyUsage, true, new KeyUsage(ca
                        ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                        new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
        return Certs.sign(b, kp.getPrivate());
    }
}
