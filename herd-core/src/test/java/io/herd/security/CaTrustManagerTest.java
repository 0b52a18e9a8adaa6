package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaTrustManagerTest {
    @TempDir
    Path tmp;

    private TestPki pki;
    private Revocations rev;
    private CaTrustManager tm;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(tmp, "lab");
        rev = pki.revocations("node");
        tm = new CaTrustManager(pki.ca.certificate(), rev);
    }

    @AfterEach
    void tearDown() {
        pki.close();
    }

    @Test
    void acceptsANodeOfTheCluster() {
        NodeIdentity alpha = pki.join("alpha");
        assertThatCode(() -> tm.checkClientTrusted(alpha.chain(), "EC")).doesNotThrowAnyException();
        assertThatCode(() -> tm.checkServerTrusted(alpha.chain(), "EC")).doesNotThrowAnyException();
        // The chain the peer sends beyond the leaf does not matter.
        assertThatCode(() -> tm.checkServerTrusted(new X509Certificate[] {alpha.certificate()}, "EC"))
                .doesNotThrowAnyException();
        assertThat(tm.getAcceptedIssuers()).containsExactly(pki.ca.certificate());
    }

    @Test
    void rejectsANodeOfAnotherCluster() {
        try (TestPki other = TestPki.create(tmp.resolve("other"), "elsewhere")) {
            NodeIdentity stranger = other.join("alpha");
            assertRejected(stranger.chain(), "another herd cluster");
        }
    }

    @Test
    void rejectsAnotherCaWithTheSameName() {
        try (TestPki twin = TestPki.create(tmp.resolve("twin"), "lab")) {
            assertRejected(twin.join("alpha").chain(), "not signed by this cluster's CA");
        }
    }

    @Test
    void rejectsSelfSignedCertificates() throws Exception {
        KeyPair kp = NodeIdentity.generateKey();
        assertRejected(new X509Certificate[] {TestPki.selfSigned("alpha", kp, false)}, "another herd cluster");
        // Posing as the CA by name: the signature gives it away.
        X509Certificate fakeCa = TestPki.selfSigned("herd cluster CA lab", kp, true);
        assertRejected(new X509Certificate[] {fakeCa}, "not signed by this cluster's CA");
    }

    @Test
    void rejectsTheCaCertificateAsALeaf() {
        assertRejected(new X509Certificate[] {pki.ca.certificate()}, "is a CA certificate");
    }

    @Test
    void rejectsARevokedNode() {
        NodeIdentity alpha = pki.join("alpha");
        NodeIdentity beta = pki.join("beta");
        rev.update(pki.ca.revoke("alpha", Instant.now()));
        assertRejected(alpha.chain(), "has been revoked");
        assertThatCode(() -> tm.checkClientTrusted(beta.chain(), "EC")).doesNotThrowAnyException();
    }

    @Test
    void rejectsAnExpiredCertificate() {
        NodeIdentity old = pki.join("old", Instant.now().minus(Duration.ofDays(3 * 365)));
        assertRejected(old.chain(), "expired on");
    }

    @Test
    void rejectsACertificateNotYetValid() {
        NodeIdentity alpha = pki.join("alpha");
        Clock past = Clock.fixed(alpha.certificate().getNotBefore().toInstant().minusSeconds(60), ZoneOffset.UTC);
        CaTrustManager early = new CaTrustManager(pki.ca.certificate(), rev, past);
        assertThatThrownBy(() -> early.checkClientTrusted(alpha.chain(), "EC"))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining("not valid until");
    }

    @Test
    void rejectsAnEmptyChain() {
        assertRejected(new X509Certificate[0], "sent no certificate");
    }

    private void assertRejected(X509Certificate[] chain, String why) {
        assertThatThrownBy(() -> tm.checkClientTrusted(chain, "EC"))
                .isInstanceOf(CertificateException.class).hasMessageContaining(why);
        assertThatThrownBy(() -> tm.checkServerTrusted(chain, "EC"))
                .isInstanceOf(CertificateException.class).hasMessageContaining(why);
    }
}
