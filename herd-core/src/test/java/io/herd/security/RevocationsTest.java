package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RevocationsTest {
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
    void startsEmptyWithoutAFile() {
        Revocations rev = pki.revocations("node");
        assertThat(rev.current()).isNull();
        assertThat(rev.currentDer()).isEmpty();
        assertThat(rev.number()).isEqualTo(-1);
        assertThat(rev.isRevoked(pki.join("alpha").certificate())).isFalse();
    }

    @Test
    void acceptsOnlyNewerCrls() {
        Revocations rev = pki.revocations("node");
        List<X509CRL> heard = new ArrayList<>();
        rev.addListener(heard::add);
        X509Certificate alpha = pki.join("alpha").certificate();
        X509CRL first = pki.ca.currentCrl();

        assertThat(rev.update(first)).isTrue();
        assertThat(rev.update(first)).as("same number again").isFalse();
        X509CRL second = pki.ca.revoke("alpha", Instant.now());
        assertThat(rev.update(second)).isTrue();
        assertThat(rev.isRevoked(alpha)).isTrue();

        assertThat(rev.update(first)).as("replay of an older list").isFalse();
        assertThat(rev.isRevoked(alpha)).as("a replay cannot un-revoke").isTrue();
        assertThat(rev.number()).isEqualTo(2);
        assertThat(heard).containsExactly(first, second);
    }

    @Test
    void rejectsACrlOfAnotherCluster() throws Exception {
        Revocations rev = pki.revocations("node");
        rev.update(pki.ca.currentCrl());
        try (TestPki other = TestPki.create(tmp.resolve("other"), "lab")) {
            other.join("x");
            X509CRL foreign = other.ca.revoke("x", Instant.now());
            for (int i = 0; i < 5; i++) {
                foreign = other.ca.revoke("x", Instant.now()); // a high number must not help
            }
            X509CRL f = foreign;
            // Same cluster name, so the same issuer DN: only the signature tells them apart.
            assertThat(f.getIssuerX500Principal()).isEqualTo(pki.ca.certificate().getSubjectX500Principal());
            assertThatThrownBy(() -> rev.update(f))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("signature does not verify");
        }
        assertThat(rev.number()).isEqualTo(1);
    }

    @Test
    void rejectsACrlFromADifferentlyNamedCa() {
        Revocations rev = pki.revocations("node");
        try (TestPki other = TestPki.create(tmp.resolve("other"), "elsewhere")) {
            assertThatThrownBy(() -> rev.update(other.ca.currentCrl()))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not by this cluster's CA");
        }
        assertThat(rev.current()).isNull();
    }

    @Test
    void survivesARestart() throws Exception {
        Revocations rev = pki.revocations("node");
        X509Certificate alpha = pki.join("alpha").certificate();
        X509Certificate beta = pki.join("beta").certificate();
        rev.update(pki.ca.revoke("alpha", Instant.now()));

        Revocations reloaded = pki.revocations("node");

        assertThat(reloaded.number()).isEqualTo(2);
        assertThat(reloaded.isRevoked(alpha)).isTrue();
        assertThat(reloaded.isRevoked(beta)).isFalse();
        assertThat(reloaded.currentDer()).isEqualTo(rev.currentDer());
        Path tls = tmp.resolve("node/tls");
        try (var files = Files.list(tls)) {
            assertThat(files).as("no temp files left").containsExactly(tls.resolve("crl.der"));
        }
        assertThat(reloaded.update(pki.ca.currentCrl())).isFalse();
    }

    @Test
    void aDamagedFileIsReportedNotIgnored() throws Exception {
        Path file = tmp.resolve("node/tls/crl.der");
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> pki.revocations("node"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining("replace it");
    }
}
