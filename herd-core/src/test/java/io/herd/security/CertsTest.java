package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import org.junit.jupiter.api.Test;

class CertsTest {

    @Test
    void eachCertificateGetsItsOwnNameAlsoWhenTheyAlternate() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        KeyPair kp = g.generateKeyPair();
        X509Certificate alpha = TestPki.selfSigned("alpha", kp, false);
        X509Certificate beta = TestPki.selfSigned("beta", kp, false);
        for (int i = 0; i < 3; i++) {   // the last one asked about is kept: alternating must not mix them up
            assertThat(Certs.commonName(alpha)).contains("alpha");
            assertThat(Certs.commonName(alpha)).contains("alpha");
            assertThat(Certs.commonName(beta)).contains("beta");
        }
    }
}
