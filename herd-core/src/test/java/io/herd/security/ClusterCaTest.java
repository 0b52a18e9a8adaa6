package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.herd.security.JoinRefusedException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterCaTest {
    private static final Instant NOW = Instant.parse("2026-11-20T10:00:00Z");

    @TempDir
    Path tmp;

    private ClusterCa ca;

    @BeforeEach
    void setUp() {
        ca = ClusterCa.create("lab", tmp.resolve("ca"));
    }

    @AfterEach
    void tearDown() {
        ca.close();
    }

    @Test
    void createMakesACaCertificateAndPrivateFiles() throws Exception {
        X509Certificate cert = ca.certificate();
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=herd cluster CA lab");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(cert.getSubjectX500Principal());
        assertThat(cert.getBasicConstraints()).isZero(); // CA with pathlen 0
        assertThat(cert.getKeyUsage()[5]).as("keyCertSign").isTrue();
        assertThat(cert.getKeyUsage()[6]).as("cRLSign").isTrue();
        assertThat(cert.getSigAlgName()).isEqualTo("SHA256withECDSA");
        assertThat(Certs.isP256(cert.getPublicKey())).isTrue();
        cert.verify(cert.getPublicKey());
        long years = ChronoUnit.DAYS.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant()) / 365;
        assertThat(years).isEqualTo(10);

        Path dir = tmp.resolve("ca");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca.key"))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(dir.resolve("ca.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(dir.resolve("ca.crt"))).startsWith("-----BEGIN CERTIFICATE-----");
        try (var siblings = Files.list(tmp)) {
            assertThat(siblings).as("no staging directory left behind").containsExactly(dir);
        }
    }

    @Test
    void openReturnsTheSameCaAndPin() {
        String pin = ca.pin();
        X509Certificate cert = ca.certificate();
        ca.close();

        ca = ClusterCa.open(tmp.resolve("ca"));

        assertThat(ca.clusterName()).isEqualTo("lab");
        assertThat(ca.certificate()).isEqualTo(cert);
        assertThat(ca.pin()).isEqualTo(pin).isEqualTo(Pins.display(Pins.pin(cert.getPublicKey())));
        assertThat(pin).matches("sha256:[0-9a-f]{64}");
    }

    @Test
    void createRefusesADirectoryThatHoldsACa() {
        assertThatThrownBy(() -> ClusterCa.create("lab2", tmp.resolve("ca")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already a cluster CA in " + tmp.resolve("ca"));
        assertThat(ca.clusterName()).isEqualTo("lab");
    }

    @Test
    void createRefusesANonEmptyDirectory() throws Exception {
        Files.createDirectories(tmp.resolve("other"));
        Files.writeString(tmp.resolve("other/notes.txt"), "mine");
        assertThatThrownBy(() -> ClusterCa.create("lab2", tmp.resolve("other")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is not empty");
    }

    @Test
    void openWithoutCaSaysWhere() {
        assertThatThrownBy(() -> ClusterCa.open(tmp.resolve("nothing")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no cluster CA in")
                .hasMessageContaining("herd init");
    }

    @Test
    void tokenCarriesThePinAndExpiry() {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        assertThat(Pins.display(t.caPin())).isEqualTo(ca.pin());
        assertThat(t.expires()).isEqualTo(NOW.plus(Duration.ofHours(1)));
        assertThat(t.id()).matches("[0-9a-f]{16}");
        assertThat(ca.createToken(Duration.ofHours(1), 1, NOW).id()).isNotEqualTo(t.id());
    }

    @Test
    void redeemIssuesANodeCertificate() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        KeyPair kp = NodeIdentity.generateKey();

        X509Certificate cert = ca.redeem(t.id(), t.secret(), "Alpha", NodeIdentity.csr(kp, "alpha"), NOW);

        cert.verify(ca.certificate().getPublicKey());
        assertThat(cert.getPublicKey()).isEqualTo(kp.getPublic());
        assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=alpha");
        assertThat(cert.getIssuerX500Principal()).isEqualTo(ca.certificate().getSubjectX500Principal());
        assertThat(cert.getSubjectAlternativeNames()).containsExactly(List.of(2, "alpha"));
        assertThat(cert.getExtendedKeyUsage()).containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        boolean[] ku = cert.getKeyUsage();
        assertThat(ku[0]).as("digitalSignature").isTrue();
        assertThat(ku[4]).as("keyAgreement").isTrue();
        assertThat(ku[5]).as("keyCertSign").isFalse();
        assertThat(cert.getBasicConstraints()).isEqualTo(-1);
        assertThat(cert.getSerialNumber().signum()).isPositive();
        assertThat(cert.getSerialNumber().bitLength()).isLessThanOrEqualTo(128);
        assertThat(cert.getNotAfter().toInstant()).isEqualTo(NOW.atOffset(java.time.ZoneOffset.UTC).plusYears(2).toInstant());
        assertThat(cert.getNotBefore().toInstant()).isBefore(NOW);

        assertThat(ca.activeNameFor(cert.getSerialNumber())).contains("alpha");
        assertThat(ca.issued()).containsExactly(new ClusterCa.IssuedCert("alpha", cert.getSerialNumber(), NOW, null));
        assertThat(new NodeIdentity(kp.getPrivate(), cert, ca.certificate()).name()).isEqualTo("alpha");
    }

    @Test
    void unknownTokenIsRefused() {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        assertRefused(Reason.UNKNOWN_TOKEN, t, "0000000000000000", t.secret(), "alpha", NOW);
    }

    @Test
    void wrongSecretIsRefused() {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        byte[] wrong = t.secret();
        wrong[0] ^= 1;
        JoinRefusedException e = assertRefused(Reason.BAD_SECRET, t, t.id(), wrong, "alpha", NOW);
        assertThat(e.getMessage()).contains("herd token");
    }

    @Test
    void expiredTokenIsRefusedWithItsExpiry() {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        Instant later = NOW.plus(Duration.ofHours(1));
        JoinRefusedException e = assertRefused(Reason.EXPIRED, t, t.id(), t.secret(), "alpha", later);
        assertThat(e.getMessage()).isEqualTo("the join token has expired (at 2026-11-20T11:00:00Z);"
                + " run `herd token` on the CA node for a new one");
    }

    @Test
    void aTokenForOneJoinCannotBeUsedTwice() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        redeem(t, "alpha", NOW);
        JoinRefusedException e = catchThrowableOfType(JoinRefusedException.class, () -> redeem(t, "beta", NOW));
        assertThat(e.reason()).isEqualTo(Reason.USED_UP);
        assertThat(e.getMessage()).contains("herd token");
    }

    @Test
    void aTokenAllowsExactlyItsUses() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 2, NOW);
        redeem(t, "a1", NOW);
        redeem(t, "a2", NOW);
        assertThat(catchThrowableOfType(JoinRefusedException.class, () -> redeem(t, "a3", NOW)).reason())
                .isEqualTo(Reason.USED_UP);
    }

    @Test
    void aNameInUseIsRefused() {
        ca.issueSelf("alpha", NodeIdentity.generateKey().getPublic());
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        JoinRefusedException e = assertRefused(Reason.NAME_IN_USE, t, t.id(), t.secret(), "ALPHA", NOW);
        assertThat(e.getMessage()).contains("'alpha' is already in use").contains("--name");
    }

    @Test
    void anInvalidNameIsRefused() {
        for (String bad : new String[] {"", "-alpha", "al_pha", "alpha.lab", "a".repeat(64), "ünï", null}) {
            JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
            assertRefused(Reason.BAD_NAME, t, t.id(), t.secret(), bad, NOW);
        }
    }

    @Test
    void aCsrForAnotherNameIsRefused() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        byte[] csrForBeta = NodeIdentity.csr(NodeIdentity.generateKey(), "beta");
        JoinRefusedException e = catchThrowableOfType(JoinRefusedException.class,
                () -> ca.redeem(t.id(), t.secret(), "alpha", csrForBeta, NOW));
        assertThat(e.reason()).isEqualTo(Reason.BAD_CSR);
        assertThat(e.getMessage()).contains("'beta'").contains("'alpha'");
        redeem(t, "alpha", NOW); // the token was not consumed
    }

    @Test
    void garbageAndForgedCsrsAreRefused() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 1, NOW);
        byte[] garbage = {0x30, 0x03, 0x02, 0x01, 0x00};
        assertThat(catchThrowableOfType(JoinRefusedException.class,
                () -> ca.redeem(t.id(), t.secret(), "alpha", garbage, NOW)).reason()).isEqualTo(Reason.BAD_CSR);

        // Signed by a key other than the one it asks a certificate for: proves nothing.
        KeyPair claimed = NodeIdentity.generateKey();
        KeyPair signer = NodeIdentity.generateKey();
        byte[] forged = new JcaPKCS10CertificationRequestBuilder(Certs.commonNameOnly("alpha"), claimed.getPublic())
                .build(Certs.signer(signer.getPrivate())).getEncoded();
        assertThat(catchThrowableOfType(JoinRefusedException.class,
                () -> ca.redeem(t.id(), t.secret(), "alpha", forged, NOW)).reason()).isEqualTo(Reason.BAD_CSR);

        redeem(t, "alpha", NOW);
    }

    @Test
    void concurrentRedeemsNeverExceedTheUses() throws Exception {
        JoinToken t = ca.createToken(Duration.ofHours(1), 3, NOW);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        AtomicInteger ok = new AtomicInteger();
        try {
            List<Future<?>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String name = "n" + i;
                fs.add(pool.submit(() -> {
                    try {
                        redeem(t, name, NOW);
                        ok.incrementAndGet();
                    } catch (JoinRefusedException e) {
                        assertThat(e.reason()).isEqualTo(Reason.USED_UP);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(ok.get()).isEqualTo(3);
        assertThat(ca.issued()).hasSize(3);
    }

    @Test
    void theFirstCrlIsEmptyAndSigned() throws Exception {
        X509CRL crl = ca.currentCrl();
        crl.verify(ca.certificate().getPublicKey());
        assertThat(crl.getRevokedCertificates()).isNull();
        assertThat(crlNumber(crl)).isEqualTo(1);
        assertThat(crl.getNextUpdate()).isAfter(java.util.Date.from(Instant.now().plus(Duration.ofDays(3000))));
    }

    @Test
    void revokeListsEveryRevokedSerialAndFreesTheName() throws Exception {
        X509Certificate first = redeem(ca.createToken(Duration.ofHours(1), 1, NOW), "alpha", NOW);
        X509Certificate other = redeem(ca.createToken(Duration.ofHours(1), 1, NOW), "beta", NOW);

        X509CRL crl1 = ca.revoke("alpha", NOW.plusSeconds(10));

        crl1.verify(ca.certificate().getPublicKey());
        assertThat(crlNumber(crl1)).isEqualTo(2);
        assertThat(crl1.isRevoked(first)).isTrue();
        assertThat(crl1.isRevoked(other)).isFalse();
        assertThat(ca.currentCrl()).isEqualTo(crl1);
        assertThat(ca.activeNameFor(first.getSerialNumber())).isEmpty();
        assertThat(ca.activeNameFor(other.getSerialNumber())).contains("beta");

        X509Certificate second = redeem(ca.createToken(Duration.ofHours(1), 1, NOW), "alpha", NOW.plusSeconds(20));
        assertThat(ca.activeNameFor(second.getSerialNumber())).contains("alpha");

        X509CRL crl2 = ca.revoke("alpha", NOW.plusSeconds(30));
        assertThat(crlNumber(crl2)).isEqualTo(3);
        assertThat(crl2.getRevokedCertificates()).hasSize(2);
        assertThat(crl2.isRevoked(first)).isTrue();
        assertThat(crl2.isRevoked(second)).isTrue();
        assertThat(ca.issued()).extracting(ClusterCa.IssuedCert::name, c -> c.revokedOrNull() != null)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("alpha", true),
                        org.assertj.core.groups.Tuple.tuple("beta", false),
                        org.assertj.core.groups.Tuple.tuple("alpha", true));
    }

    @Test
    void revokeOfAnUnknownNameFails() {
        assertThatThrownBy(() -> ca.revoke("ghost", NOW))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'ghost'");
        assertThat(crlNumber(ca.currentCrl())).isEqualTo(1);
    }

    @Test
    void issueSelfRefusesATakenName() {
        ca.issueSelf("alpha", NodeIdentity.generateKey().getPublic());
        assertThatThrownBy(() -> ca.issueSelf("alpha", NodeIdentity.generateKey().getPublic()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("already has a certificate");
    }

    private X509Certificate redeem(JoinToken t, String name, Instant now) throws JoinRefusedException {
        return ca.redeem(t.id(), t.secret(), name, NodeIdentity.csr(NodeIdentity.generateKey(), name), now);
    }

    /**
     * Asserts the refusal, then (unless it expired) that the token, which allows one join, still
     * works for a good request: the refused attempt did not consume it.
     */
    private JoinRefusedException assertRefused(Reason reason, JoinToken t, String id, byte[] secret, String name,
                                               Instant now) {
        byte[] csr = NodeIdentity.csr(NodeIdentity.generateKey(), NodeNames.isValid(name) ? name : "valid");
        JoinRefusedException e = catchThrowableOfType(JoinRefusedException.class,
                () -> ca.redeem(id, secret, name, csr, now));
        assertThat(e).as("refusal of %s", name).isNotNull();
        assertThat(e.reason()).isEqualTo(reason);
        assertThat(e.getMessage()).doesNotContain("\n").contains(";");
        if (reason != Reason.EXPIRED) {
            try {
                redeem(t, "fresh-" + Long.toHexString(System.nanoTime()), NOW);
            } catch (JoinRefusedException again) {
                throw new AssertionError("the refused redeem consumed the token", again);
            }
        }
        return e;
    }

    static long crlNumber(X509CRL crl) {
        byte[] ext = crl.getExtensionValue(Extension.cRLNumber.getId());
        return ASN1Integer.getInstance(ASN1OctetString.getInstance(ext).getOctets()).getValue().longValueExact();
    }
}
