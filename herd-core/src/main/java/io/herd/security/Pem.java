package io.herd.security;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * PEM files in the formats openssl writes and reads, so an operator can inspect them with
 * {@code openssl x509 -in node.crt -text}. Keys are unencrypted PKCS#8 ("PRIVATE KEY"), protected
 * by file permissions; the daemon must start unattended, so there is no passphrase to ask for.
 *
 * <p>No provider is named anywhere: BouncyCastle only builds and parses the structures, the JDK's
 * own providers do the cryptography, and BC is never registered as a global JCA provider.
 */
final class Pem {
    private Pem() {}

    static byte[] encode(X509Certificate cert) {
        return write(cert);
    }

    static byte[] encode(PrivateKey key) {
        try {
            return write(new JcaPKCS8Generator(key, null));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] write(Object o) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Reads the first certificate in a PEM file. */
    static X509Certificate readCertificate(Path file) throws IOException {
        Object o = readObject(file);
        if (!(o instanceof X509CertificateHolder holder)) {
            throw new IOException("it does not hold a PEM certificate");
        }
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new IOException("the certificate in it is malformed: " + e.getMessage(), e);
        }
    }

    /** Reads an unencrypted private key, PKCS#8 or the traditional "EC PRIVATE KEY" of openssl. */
    static PrivateKey readPrivateKey(Path file) throws IOException {
        Object o = readObject(file);
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        if (o instanceof PrivateKeyInfo info) {
            return converter.getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
            return converter.getPrivateKey(pair.getPrivateKeyInfo());
        }
        throw new IOException("it does not hold an unencrypted PEM private key");
    }

    private static Object readObject(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.ISO_8859_1);
        Object o;
        try (PEMParser parser = new PEMParser(new StringReader(text))) {
            o = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw new IOException("it is not valid PEM: " + e.getMessage(), e);
        }
        if (o == null) {
            throw new IOException("it holds no PEM data");
        }
        return o;
    }
}
