package io.herd.security;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Small compositions of JDK and BouncyCastle APIs shared by the CA and the node side. */
final class Certs {
    static final String SIGNATURE_ALGORITHM = "SHA256withECDSA";
    static final String CURVE = "secp256r1";
    static final SecureRandom RANDOM = new SecureRandom();

    private Certs() {}

    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec(CURVE), RANDOM);
            return g.generateKeyPair();
        } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
            throw new IllegalStateException("this Java runtime cannot make EC P-256 keys: " + e.getMessage(), e);
        }
    }

    /** A random positive 128-bit serial: unguessable, so serials reveal nothing and never collide in practice. */
    static BigInteger randomSerial() {
        BigInteger serial;
        do {
            serial = new BigInteger(128, RANDOM);
        } while (serial.signum() == 0);
        return serial;
    }

    static ContentSigner signer(PrivateKey key) {
        try {
            return new JcaContentSignerBuilder(SIGNATURE_ALGORITHM).build(key);
        } catch (OperatorCreationException e) {
            throw new IllegalStateException("cannot sign with " + SIGNATURE_ALGORITHM + ": " + e.getMessage(), e);
        }
    }

    static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey issuerKey) {
        try {
            return new JcaX509CertificateConverter().getCertificate(builder.build(signer(issuerKey)));
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot build a certificate: " + e.getMessage(), e);
        }
    }

    static X500Name commonNameOnly(String cn) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, cn).build();
    }

    /** The single CN of a name; empty when it has none, several, or a multi-valued one (all ambiguous). */
    static Optional<String> commonName(X500Name name) {
        RDN[] rdns = name.getRDNs(BCStyle.CN);
        if (rdns.length != 1 || rdns[0].isMultiValued()) {
            return Optional.empty();
        }
        if (!(rdns[0].getFirst().getValue() instanceof ASN1String s)) {
            return Optional.empty();
        }
        return Optional.of(s.getString());
    }

    static Optional<String> commonName(X509Certificate cert) {
        NamedCert last = lastCommonName;
        if (last != null && last.cert() == cert) return last.name();
        Optional<String> name = commonName(X500Name.getInstance(cert.getSubjectX500Principal().getEncoded()));
        lastCommonName = new NamedCert(cert, name);
        return name;
    }

    private record NamedCert(X509Certificate cert, Optional<String> name) {}

    /**
     * The last certificate asked about and its name: every gRPC call checks its peer's name, and a
     * TLS session hands out the same certificate object each time (parsing the subject was 0.4 %
     * of a host's CPU on an array of short jobs). By identity, so only that very object hits.
     */
    private static volatile NamedCert lastCommonName;

    /** Short description of a certificate for error messages: its subject and serial. */
    static String describe(X509Certificate cert) {
        return cert.getSubjectX500Principal().getName() + ", serial " + cert.getSerialNumber().toString(16);
    }

    /** Whether the key is an EC key on P-256, judged from its encoding so any provider's key works. */
    static boolean isP256(SubjectPublicKeyInfo spki) {
        ASN1ObjectIdentifier alg = spki.getAlgorithm().getAlgorithm();
        return X9ObjectIdentifiers.id_ecPublicKey.equals(alg)
                && SECObjectIdentifiers.secp256r1.equals(spki.getAlgorithm().getParameters());
    }

    static boolean isP256(PublicKey key) {
        return isP256(SubjectPublicKeyInfo.getInstance(key.getEncoded()));
    }

    /**
     * Whether {@code priv} is the private half of {@code pub}. Checked by signing a random challenge,
     * because a JCA EC private key does not carry its public point.
     */
    static boolean keysMatch(PrivateKey priv, PublicKey pub) {
        try {
            byte[] challenge = new byte[32];
            RANDOM.nextBytes(challenge);
            Signature s = Signature.getInstance(SIGNATURE_ALGORITHM);
            s.initSign(priv);
            s.update(challenge);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(SIGNATURE_ALGORITHM);
            v.initVerify(pub);
            v.update(challenge);
            return v.verify(sig);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
