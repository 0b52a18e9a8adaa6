package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeIdentityTest {
    @TempDir
    Path tmp;

    private TestPki pki;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(tmp, "lab");
    }

    @AfterEach
    void tearDown() {
        pki.close();
    }

    @Test
    void saveThenLoadRoundTrips() throws Exception {
        Path data = tmp.resolve("data");
        assertThat(NodeIdentity.exists(data)).isFalse();
        NodeIdentity alpha = pki.join("alpha");

        alpha.save(data);
        NodeIdentity back = NodeIdentity.load(data);

        assertThat(NodeIdentity.exists(data)).isTrue();
        assertThat(back.name()).isEqualTo("alpha");
        assertThat(back.certificate()).isEqualTo(alpha.certificate());
        assertThat(back.caCertificate()).isEqualTo(pki.ca.certificate());
        assertThat(back.key().getEncoded()).isEqualTo(alpha.key().getEncoded());
        assertThat(back.chain()).containsExactly(alpha.certificate(), pki.ca.certificate());

        Path tls = data.resolve("tls");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tls))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("node.key"))))
                .isEqualTo("rw-------");
        try (var files = Files.list(tls)) {
            assertThat(files).containsExactlyInAnyOrder(tls.resolve("node.key"), tls.resolve("node.crt"),
                    tls.resolve("ca.crt"));
        }
    }

    @Test
    void loadSaysWhatIsMissing() throws Exception {
        pki.join("alpha").save(tmp.resolve("data"));
        Files.delete(tmp.resolve("data/tls/node.crt"));
        assertThat(NodeIdentity.exists(tmp.resolve("data"))).as("a damaged identity still exists").isTrue();
        assertThatThrownBy(() -> NodeIdentity.load(tmp.resolve("data")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("node.crt is missing")
                .hasMessageContaining("herd join");
    }

    @Test
    void loadReportsAnUnreadableFile() throws Exception {
        pki.join("alpha").save(tmp.resolve("data"));
        Files.writeString(tmp.resolve("data/tls/node.crt"), "not a certificate");
        assertThatThrownBy(() -> NodeIdentity.load(tmp.resolve("data")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot read " + tmp.resolve("data/tls/node.crt"));
    }

    @Test
    void loadReportsAKeyThatDoesNotMatch() throws Exception {
        pki.join("alpha").save(tmp.resolve("data"));
        pki.join("beta").save(tmp.resolve("other"));
        Files.copy(tmp.resolve("other/tls/node.key"), tmp.resolve("data/tls/node.key"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> NodeIdentity.load(tmp.resolve("data")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("do not belong together")
                .hasMessageContaining("private key does not belong");
    }

    @Test
    void refusesACertificateOfAnotherCa() {
        NodeIdentity alpha = pki.join("alpha");
        try (TestPki other = TestPki.create(tmp.resolve("other"), "lab")) {
            assertThatThrownBy(() -> new NodeIdentity(alpha.key(), alpha.certificate(), other.ca.certificate()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("was not issued by the cluster CA");
        }
    }

    @Test
    void csrNamesTheNodeAndIsSelfSigned() throws Exception {
        KeyPair kp = NodeIdentity.generateKey();
        PKCS10CertificationRequest csr = new PKCS10CertificationRequest(NodeIdentity.csr(kp, "Alpha"));
        assertThat(csr.getSubject().toString()).isEqualTo("CN=alpha");
        assertThat(csr.getSubjectPublicKeyInfo().getEncoded()).isEqualTo(kp.getPublic().getEncoded());
        assertThat(csr.isSignatureValid(new org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder()
                .build(kp.getPublic()))).isTrue();
        assertThatThrownBy(() -> NodeIdentity.csr(kp, "bad name"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a valid node name");
    }

    @Test
    void pinIsTheHashOfTheEncodedPublicKey() throws Exception {
        KeyPair kp = NodeIdentity.generateKey();
        byte[] expected = java.security.MessageDigest.getInstance("SHA-256").digest(
                org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded())
                        .getEncoded("DER"));
        assertThat(Pins.pin(kp.getPublic())).isEqualTo(expected);
        assertThat(Pins.display(new byte[] {0x0a, (byte) 0xff})).isEqualTo("sha256:0aff");
    }
}
