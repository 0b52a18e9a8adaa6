package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PinnedTrustManagerTest {
    @TempDir
    Path tmp;

    private TestPki pki;
    private TestPki other;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(tmp.resolve("a"), "lab");
        other = TestPki.create(tmp.resolve("b"), "lab");
    }

    @AfterEach
    void tearDown() {
        pki.close();
        other.close();
    }

    private byte[] pin() {
        return Pins.pin(pki.ca.certificate().getPublicKey());
    }

    @Test
    void acceptsAServerOfThePinnedCa() throws Exception {
        PinnedTrustManager tm = new PinnedTrustManager(pin());
        assertThatThrownBy(tm::pinnedCa).isInstanceOf(IllegalStateException.class);

        tm.checkServerTrusted(pki.join("alpha").chain(), "EC");

        assertThat(tm.pinnedCa()).isEqualTo(pki.ca.certificate());
    }

    @Test
    void rejectsAServerOfAnotherCaAndSaysWhichPins() {
        PinnedTrustManager tm = new PinnedTrustManager(pin());
        X509Certificate[] chain = other.join("alpha").chain();
        assertThatThrownBy(() -> tm.checkServerTrusted(chain, "EC"))
                .isInstanceOf(CertificateException.class)
                .hasMessageStartingWith("the server's cluster CA does not match the token's pin (expected "
                        + pki.ca.pin() + ", got " + other.ca.pin() + ")");
        assertThatThrownBy(tm::pinnedCa).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void rejectsALeafNotSignedByThePinnedCa() {
        // A man in the middle may forward the real CA certificate, but cannot sign a leaf with it.
        PinnedTrustManager tm = new PinnedTrustManager(pin());
        X509Certificate[] chain = {other.join("alpha").certificate(), pki.ca.certificate()};
        assertThatThrownBy(() -> tm.checkServerTrusted(chain, "EC"))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining("not a valid certificate of the pinned cluster CA");
        assertThatThrownBy(tm::pinnedCa).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void rejectsAChainWithoutCa() {
        PinnedTrustManager tm = new PinnedTrustManager(pin());
        X509Certificate[] chain = {pki.join("alpha").certificate()};
        assertThatThrownBy(() -> tm.checkServerTrusted(chain, "EC"))
                .isInstanceOf(CertificateException.class)
                .hasMessageContaining("does not match the token's pin");
    }

    @Test
    void acceptsNoClients() {
        PinnedTrustManager tm = new PinnedTrustManager(pin());
        assertThatThrownBy(() -> tm.checkClientTrusted(pki.join("alpha").chain(), "EC"))
                .isInstanceOf(CertificateException.class);
    }
}
