package io.herd.security;

import io.herd.security.JoinRefusedException.Reason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.X509EncodedKeySpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.CRLNumber;
import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v2CRLBuilder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CRLConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.sqlite.SQLiteConfig;

/**
 * The cluster's certificate authority. It exists only on the node that ran {@code herd init}, in
 * its own directory: {@code ca.key} (0600), {@code ca.crt}, and {@code ca.db}, a SQLite database
 * of every certificate issued, the join tokens and the CRLs. Other nodes hold only the CA
 * certificate; they never need the key, because a node's certificate is checked against the CA
 * certificate and revocation travels as a signed CRL that any node can pass on.
 *
 * <p>All methods are synchronized: the CA is used rarely (joins, revocations) and simple
 * serialisation keeps the database and the CRL number consistent. Every change to the database
 * is one SQLite transaction, so a refused or failed join leaves no trace and a crash mid-way
 * consumes no token.
 */
public final class ClusterCa implements AutoCloseable {
    static final String KEY_FILE = "ca.key";
    static final String CERT_FILE = "ca.crt";
    static final String DB_FILE = "ca.db";

    private static final int CA_YEARS = 10;
    private static final int NODE_YEARS = 2;
    /** Certificates start a little in the past so that peers whose clocks lag ours accept them at once. */
    private static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final int SCHEMA_VERSION = 1;
    private static final int MAX_CLUSTER_NAME = 48; // CN is at most 64 characters with the prefix
    private static final String CN_PREFIX = "herd cluster CA ";

    /** One certificate the CA has issued. */
    public record IssuedCert(String name, BigInteger serial, Instant issued, Instant revokedOrNull) {
        public boolean revoked() {
            return revokedOrNull != null;
        }
    }

    private final Path dir;
    private final String clusterName;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final byte[] pin;
    private final Connection db;

    private ClusterCa(Path dir, String clusterName, PrivateKey key, X509Certificate certificate, Connection db) {
        this.dir = dir;
        this.clusterName = clusterName;
        this.key = key;
        this.certificate = certificate;
        this.pin = Pins.pin(certificate.getPublicKey());
        this.db = db;
    }

    // ---------------------------------------------------------------- create / open

    /**
     * Creates a new CA in {@code caDir}, which must not exist or be empty. Everything is built in a
     * hidden sibling directory and renamed into place, so a crash never leaves half a CA behind.
     *
     * @throws IllegalStateException if {@code caDir} already holds a CA or other files
     * @throws UncheckedIOException  if the files cannot be written
     */
    public static ClusterCa create(String clusterName, Path caDir) {
        String name = checkClusterName(clusterName);
        Path dir = caDir.toAbsolutePath().normalize();
        try {
            refuseExisting(dir);
            Path parent = dir.getParent();
            Files.createDirectories(parent);
            Path staging = Files.createTempDirectory(parent, "." + dir.getFileName() + ".new-",
                    PosixFilePermissions.asFileAttribute(SecureFiles.PRIVATE_DIR));
            try {
                Files.setPosixFilePermissions(staging, SecureFiles.PRIVATE_DIR);
                Instant now = Instant.now();
                KeyPair kp = Certs.newKeyPair();
                X509Certificate cert = selfSigned(name, kp, now);
                SecureFiles.writeAtomically(staging.resolve(KEY_FILE), Pem.encode(kp.getPrivate()),
                        SecureFiles.OWNER_ONLY);
                SecureFiles.writeAtomically(staging.resolve(CERT_FILE), Pem.encode(cert),
                        SecureFiles.WORLD_READABLE);
                Path dbFile = staging.resolve(DB_FILE);
                Files.createFile(dbFile, PosixFilePermissions.asFileAttribute(SecureFiles.OWNER_ONLY));
                try (Connection db = connect(dbFile)) {
                    initialize(db, name, kp.getPrivate(), cert, now);
                }
                if (Files.isDirectory(dir)) {
                    Files.delete(dir); // empty, checked above
                }
                Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
                SecureFiles.syncDirectory(parent);
            } catch (IOException | SQLException | RuntimeException e) {
                SecureFiles.deleteRecursively(staging);
                throw e;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the cluster CA in " + dir + ": "
                    + SecureFiles.describe(e), e);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create the CA database in " + dir + ": " + e.getMessage(), e);
        }
        return open(dir);
    }

    private static String checkClusterName(String name) {
        if (name == null || name.isBlank() || name.length() > MAX_CLUSTER_NAME
                || name.chars().anyMatch(c -> c < 0x20 || c == 0x7f)
                || !name.equals(name.strip())) {
            throw new IllegalArgumentException("'" + name + "' is not a valid cluster name: use 1 to "
                    + MAX_CLUSTER_NAME + " printable characters without leading or trailing spaces");
        }
        return name;
    }

    private static void refuseExisting(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalStateException(dir + " exists and is not a directory; move it away and retry");
        }
        for (String f : List.of(KEY_FILE, CERT_FILE, DB_FILE)) {
            if (Files.exists(dir.resolve(f))) {
                throw new IllegalStateException("there is already a cluster CA in " + dir
                        + "; this node already ran `herd init`: add machines to its cluster with `herd token`");
            }
        }
        try (var entries = Files.list(dir)) {
            if (entries.findAny().isPresent()) {
                throw new IllegalStateException(dir + " is not empty; move its files away and retry");
            }
        }
    }

    /**
     * Opens the CA created earlier in {@code caDir}.
     *
     * @throws IllegalStateException if there is no CA there or its files do not belong together
     */
    public static ClusterCa open(Path caDir) {
        Path dir = caDir.toAbsolutePath().normalize();
        for (String f : List.of(KEY_FILE, CERT_FILE, DB_FILE)) {
            if (!Files.exists(dir.resolve(f))) {
                throw new IllegalStateException("no cluster CA in " + dir + " (" + f + " is missing);"
                        + " the CA lives only on the node that ran `herd init`");
            }
        }
        PrivateKey key = read(dir.resolve(KEY_FILE), true);
        X509Certificate cert = read(dir.resolve(CERT_FILE), false);
        if (!Certs.keysMatch(key, cert.getPublicKey())) {
            throw new IllegalStateException(dir.resolve(KEY_FILE) + " is not the key of " + dir.resolve(CERT_FILE)
                    + "; restore both files from the same backup");
        }
        Connection db = null;
        try {
            db = connect(dir.resolve(DB_FILE));
            String name;
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery("SELECT key, value FROM meta")) {
                String version = null;
                name = null;
                while (rs.next()) {
                    switch (rs.getString(1)) {
                        case "schema_version" -> version = rs.getString(2);
                        case "cluster_name" -> name = rs.getString(2);
                        default -> { }
                    }
                }
                if (!String.valueOf(SCHEMA_VERSION).equals(version) || name == null) {
                    throw new IllegalStateException(dir.resolve(DB_FILE) + " has schema version " + version
                            + ", this herd understands " + SCHEMA_VERSION + "; run the herd version that created it");
                }
            }
            return new ClusterCa(dir, name, key, cert, db);
        } catch (SQLException e) {
            closeQuietly(db);
            throw new IllegalStateException("cannot open the CA database " + dir.resolve(DB_FILE) + ": "
                    + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(db);
            throw e;
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T read(Path file, boolean privateKey) {
        try {
            return (T) (privateKey ? Pem.readPrivateKey(file) : Pem.readCertificate(file));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + file + ": " + SecureFiles.describe(e), e);
        }
    }

    private static Connection connect(Path file) throws SQLException {
        SQLiteConfig cfg = new SQLiteConfig();
        cfg.setJournalMode(SQLiteConfig.JournalMode.WAL);
        cfg.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        cfg.setBusyTimeout(10_000);
        // Transactions are begun explicitly with BEGIN IMMEDIATE (see inTransaction).
        return cfg.createConnection("jdbc:sqlite:" + file);
    }

    private static void initialize(Connection db, String clusterName, PrivateKey key, X509Certificate cert,
                                   Instant now) throws SQLException {
        inTransaction(db, () -> {
            try (Statement s = db.createStatement()) {
                s.executeUpdate("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
                // serial: lower-case hex. Times: epoch milliseconds.
                s.executeUpdate("CREATE TABLE certs (serial TEXT PRIMARY KEY, name TEXT NOT NULL,"
                        + " issued_at INTEGER NOT NULL, not_after INTEGER NOT NULL, revoked_at INTEGER,"
                        + " der BLOB NOT NULL)");
                // The database itself guarantees one live certificate per name.
                s.executeUpdate("CREATE UNIQUE INDEX certs_live_name ON certs (name) WHERE revoked_at IS NULL");
                s.executeUpdate("CREATE TABLE tokens (id TEXT PRIMARY KEY, secret_sha256 BLOB NOT NULL,"
                        + " expires_at INTEGER NOT NULL, uses_left INTEGER NOT NULL CHECK (uses_left >= 0),"
                        + " created_at INTEGER NOT NULL)");
                // Every CRL ever signed; the current one has the highest number.
                s.executeUpdate("CREATE TABLE crls (number INTEGER PRIMARY KEY, issued_at INTEGER NOT NULL,"
                        + " der BLOB NOT NULL)");
            }
            try (PreparedStatement p = db.prepareStatement("INSERT INTO meta (key, value) VALUES (?, ?)")) {
                p.setString(1, "schema_version");
                p.setString(2, String.valueOf(SCHEMA_VERSION));
                p.executeUpdate();
                p.setString(1, "cluster_name");
                p.setString(2, clusterName);
                p.executeUpdate();
            }
            storeCrl(db, signCrl(key, cert, 1, now, List.of()), 1, now);
            return null;
        });
    }

    // ---------------------------------------------------------------- accessors

    public String clusterName() {
        return clusterName;
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /** The CA pin in display form ({@code sha256:…}), as printed by {@code herd token}. */
    public String pin() {
        return Pins.display(pin);
    }

    @Override
    public synchronized void close() {
        closeQuietly(db);
    }

    // ---------------------------------------------------------------- issuing

    /**
     * Issues the certificate of the node that ran {@code herd init}; no token involved.
     *
     * @throws IllegalArgumentException if the name is invalid or already has a live certificate
     */
    public synchronized X509Certificate issueSelf(String nodeName, PublicKey nodeKey) {
        String name = NodeNames.normalize(nodeName);
        if (!Certs.isP256(nodeKey)) {
            throw new IllegalArgumentException("node keys must be EC P-256 keys");
        }
        Instant now = Instant.now();
        return inTransaction(() -> {
            if (liveCertificateExists(name)) {
                throw new IllegalArgumentException("node name '" + name + "' already has a certificate");
            }
            return issue(name, nodeKey, now);
        });
    }

    /**
     * Creates a join token. Only the SHA-256 of its secret is stored: a copy of {@code ca.db} does
     * not let anyone join.
     */
    public synchronized JoinToken createToken(Duration ttl, int uses, Instant now) {
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("a join token must be valid for a positive time");
        }
        if (uses < 1) {
            throw new IllegalArgumentException("a join token must allow at least one join");
        }
        byte[] id = new byte[JoinToken.ID_BYTES];
        byte[] secret = new byte[JoinToken.SECRET_BYTES];
        Certs.RANDOM.nextBytes(id);
        Certs.RANDOM.nextBytes(secret);
        JoinToken token = new JoinToken(HexFormat.of().formatHex(id), secret, pin, now.plus(ttl));
        inTransaction(() -> {
            try (PreparedStatement p = db.prepareStatement("INSERT INTO tokens"
                    + " (id, secret_sha256, expires_at, uses_left, created_at) VALUES (?, ?, ?, ?, ?)")) {
                p.setString(1, token.id());
                p.setBytes(2, Pins.sha256(secret));
                p.setLong(3, token.expires().toEpochMilli());
                p.setInt(4, uses);
                p.setLong(5, now.toEpochMilli());
                p.executeUpdate();
            }
            return null;
        });
        return token;
    }

    /**
     * Checks a join request and issues the new node's certificate, all in one transaction: on any
     * refusal nothing changes, in particular the token keeps its uses.
     */
    public synchronized X509Certificate redeem(String tokenId, byte[] secret, String nodeName, byte[] csrDer,
                                               Instant now) throws JoinRefusedException {
        return inTransaction(() -> {
            byte[] storedHash;
            Instant expires;
            int usesLeft;
            try (PreparedStatement p = db.prepareStatement(
                    "SELECT secret_sha256, expires_at, uses_left FROM tokens WHERE id = ?")) {
                p.setString(1, tokenId);
                try (ResultSet rs = p.executeQuery()) {
                    if (!rs.next()) {
                        throw new JoinRefusedException(Reason.UNKNOWN_TOKEN, "this cluster's CA does not know"
                                + " the join token " + tokenId + "; run `herd token` on the CA node for a new one");
                    }
                    storedHash = rs.getBytes(1);
                    expires = Instant.ofEpochMilli(rs.getLong(2));
                    usesLeft = rs.getInt(3);
                }
            }
            // MessageDigest.isEqual takes the same time wherever the first difference is.
            if (secret == null || !MessageDigest.isEqual(storedHash, Pins.sha256(secret))) {
                throw new JoinRefusedException(Reason.BAD_SECRET, "the join token's secret is wrong;"
                        + " copy the whole line printed by `herd token` again");
            }
            if (!now.isBefore(expires)) {
                throw new JoinRefusedException(Reason.EXPIRED, "the join token has expired (at " + expires
                        + "); run `herd token` on the CA node for a new one");
            }
            if (usesLeft <= 0) {
                throw new JoinRefusedException(Reason.USED_UP, "the join token has already been used as often"
                        + " as it allows; run `herd token` on the CA node for a new one");
            }
            if (!NodeNames.isValid(nodeName)) {
                throw new JoinRefusedException(Reason.BAD_NAME, NodeNames.problem(nodeName)
                        + "; join under another name");
            }
            String name = NodeNames.normalize(nodeName);
            PublicKey nodeKey = checkCsr(csrDer, name);
            if (liveCertificateExists(name)) {
                throw new JoinRefusedException(Reason.NAME_IN_USE, "the node name '" + name + "' is already"
                        + " in use in this cluster; choose another with --name, or, if that machine is gone,"
                        + " remove the old node first with `herd node remove " + name + "`");
            }
            try (PreparedStatement p = db.prepareStatement(
                    "UPDATE tokens SET uses_left = uses_left - 1 WHERE id = ?")) {
                p.setString(1, tokenId);
                p.executeUpdate();
            }
            return issue(name, nodeKey, now);
        });
    }

    /** The CSR's key, once the CSR is proven well-formed, self-signed, P-256 and for {@code name}. */
    private static PublicKey checkCsr(byte[] der, String name) throws JoinRefusedException {
        PKCS10CertificationRequest csr;
        try {
            csr = new PKCS10CertificationRequest(der);
        } catch (IOException | RuntimeException e) {
            throw badCsr("it cannot be parsed (" + e.getMessage() + ")");
        }
        if (!Certs.isP256(csr.getSubjectPublicKeyInfo())) {
            throw badCsr("its key is not an EC P-256 key");
        }
        PublicKey key;
        try {
            key = KeyFactory.getInstance("EC").generatePublic(
                    new X509EncodedKeySpec(csr.getSubjectPublicKeyInfo().getEncoded()));
            if (!csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key))) {
                throw badCsr("its signature does not match its key");
            }
        } catch (IOException | GeneralSecurityException | PKCSException | OperatorCreationException
                 | RuntimeException e) {
            throw badCsr("its key or signature is malformed (" + e.getMessage() + ")");
        }
        String cn = Certs.commonName(csr.getSubject()).orElse(null);
        if (cn == null || !cn.toLowerCase(Locale.ROOT).equals(name)) {
            throw badCsr("it is for '" + cn + "' but the node asked to join as '" + name + "'");
        }
        return key;
    }

    private static JoinRefusedException badCsr(String why) {
        return new JoinRefusedException(Reason.BAD_CSR, "the joining node's certificate request is invalid: "
                + why + "; run the same herd version on both nodes, and report a bug if it persists");
    }

    private boolean liveCertificateExists(String name) throws SQLException {
        try (PreparedStatement p = db.prepareStatement(
                "SELECT 1 FROM certs WHERE name = ? AND revoked_at IS NULL")) {
            p.setString(1, name);
            try (ResultSet rs = p.executeQuery()) {
                return rs.next();
            }
        }
    }

    private X509Certificate issue(String name, PublicKey nodeKey, Instant now) throws SQLException {
        Instant notAfter = now.atOffset(ZoneOffset.UTC).plusYears(NODE_YEARS).toInstant();
        BigInteger serial = Certs.randomSerial();
        X509Certificate cert;
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(certificate, serial,
                    Date.from(now.minus(BACKDATE)), Date.from(notAfter), Certs.commonNameOnly(name), nodeKey)
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(new GeneralName(GeneralName.dNSName, name)))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(nodeKey))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(certificate.getPublicKey()));
            cert = Certs.sign(b, key);
        } catch (CertIOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the certificate of " + name + ": " + e.getMessage(), e);
        }
        try (PreparedStatement p = db.prepareStatement("INSERT INTO certs"
                + " (serial, name, issued_at, not_after, revoked_at, der) VALUES (?, ?, ?, ?, NULL, ?)")) {
            p.setString(1, serial.toString(16));
            p.setString(2, name);
            p.setLong(3, now.toEpochMilli());
            p.setLong(4, notAfter.toEpochMilli());
            p.setBytes(5, encoded(cert));
            p.executeUpdate();
        }
        return cert;
    }

    private static X509Certificate selfSigned(String clusterName, KeyPair kp, Instant now) {
        Instant notAfter = now.atOffset(ZoneOffset.UTC).plusYears(CA_YEARS).toInstant();
        X500Name subject = Certs.commonNameOnly(CN_PREFIX + clusterName);
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, Certs.randomSerial(),
                    Date.from(now.minus(BACKDATE)), Date.from(notAfter), subject, kp.getPublic())
                    // pathlen 0: the CA signs node certificates only, never another CA.
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false,
                            ext.createSubjectKeyIdentifier(kp.getPublic()));
            return Certs.sign(b, kp.getPrivate());
        } catch (CertIOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot build the CA certificate: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- revocation

    /**
     * Revokes every live certificate of {@code nodeName} and signs a new CRL listing all revoked
     * serials. The name becomes free for a new join.
     *
     * @throws IllegalArgumentException if this CA never issued a certificate to that name
     */
    public synchronized X509CRL revoke(String nodeName, Instant now) {
        String name = nodeName == null ? "" : nodeName.toLowerCase(Locale.ROOT);
        return inTransaction(() -> {
            try (PreparedStatement p = db.prepareStatement("SELECT 1 FROM certs WHERE name = ?")) {
                p.setString(1, name);
                try (ResultSet rs = p.executeQuery()) {
                    if (!rs.next()) {
                        throw new IllegalArgumentException("this cluster's CA never issued a certificate to a node"
                                + " named '" + nodeName + "'; check the name");
                    }
                }
            }
            try (PreparedStatement p = db.prepareStatement(
                    "UPDATE certs SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL")) {
                p.setLong(1, now.toEpochMilli());
                p.setString(2, name);
                p.executeUpdate();
            }
            List<RevokedEntry> revoked = new ArrayList<>();
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery("SELECT serial, revoked_at FROM certs"
                         + " WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial")) {
                while (rs.next()) {
                    revoked.add(new RevokedEntry(new BigInteger(rs.getString(1), 16),
                            Instant.ofEpochMilli(rs.getLong(2))));
                }
            }
            long number = currentCrlNumber() + 1;
            X509CRL crl = signCrl(key, certificate, number, now, revoked);
            storeCrl(db, crl, number, now);
            return crl;
        });
    }

    /** The latest CRL; right after {@link #create} an empty one with number 1. */
    public synchronized X509CRL currentCrl() {
        return inTransaction(() -> {
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery("SELECT der FROM crls ORDER BY number DESC LIMIT 1")) {
                if (!rs.next()) {
                    throw new IllegalStateException(dir.resolve(DB_FILE) + " holds no CRL; it is damaged");
                }
                return parseCrl(rs.getBytes(1));
            }
        });
    }

    private long currentCrlNumber() throws SQLException {
        try (Statement s = db.createStatement();
             ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(number), 0) FROM crls")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private record RevokedEntry(BigInteger serial, Instant at) {}

    private static X509CRL signCrl(PrivateKey key, X509Certificate ca, long number, Instant now,
                                   List<RevokedEntry> revoked) {
        try {
            X509v2CRLBuilder b = new X509v2CRLBuilder(
                    X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()), Date.from(now));
            // CRLs are pushed to every node whenever they change, not fetched on a schedule, so
            // they stay current for as long as the CA is valid.
            Date nextUpdate = ca.getNotAfter();
            b.setNextUpdate(nextUpdate.after(Date.from(now)) ? nextUpdate : Date.from(now.plus(Duration.ofDays(1))));
            for (RevokedEntry r : revoked) {
                b.addCRLEntry(r.serial(), Date.from(r.at()), CRLReason.cessationOfOperation);
            }
            b.addExtension(Extension.cRLNumber, false, new CRLNumber(BigInteger.valueOf(number)));
            b.addExtension(Extension.authorityKeyIdentifier, false,
                    new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(ca.getPublicKey()));
            return new JcaX509CRLConverter().getCRL(b.build(Certs.signer(key)));
        } catch (CertIOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot sign a CRL: " + e.getMessage(), e);
        }
    }

    private static void storeCrl(Connection db, X509CRL crl, long number, Instant now) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("INSERT INTO crls (number, issued_at, der) VALUES (?, ?, ?)")) {
            p.setLong(1, number);
            p.setLong(2, now.toEpochMilli());
            try {
                p.setBytes(3, crl.getEncoded());
            } catch (CRLException e) {
                throw new IllegalStateException("cannot encode a CRL: " + e.getMessage(), e);
            }
            p.executeUpdate();
        }
    }

    static X509CRL parseCrl(byte[] der) {
        try {
            return (X509CRL) CertificateFactory.getInstance("X.509").generateCRL(new ByteArrayInputStream(der));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not a DER-encoded X.509 CRL: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- queries

    /** Every certificate issued, oldest first. */
    public synchronized List<IssuedCert> issued() {
        return inTransaction(() -> {
            List<IssuedCert> out = new ArrayList<>();
            try (Statement s = db.createStatement();
                 ResultSet rs = s.executeQuery(
                         "SELECT name, serial, issued_at, revoked_at FROM certs ORDER BY issued_at, rowid")) {
                while (rs.next()) {
                    long revokedAt = rs.getLong(4);
                    Instant revoked = rs.wasNull() ? null : Instant.ofEpochMilli(revokedAt);
                    out.add(new IssuedCert(rs.getString(1), new BigInteger(rs.getString(2), 16),
                            Instant.ofEpochMilli(rs.getLong(3)), revoked));
                }
            }
            return List.copyOf(out);
        });
    }

    /** The node name of a live (not revoked) certificate with this serial. */
    public synchronized Optional<String> activeNameFor(BigInteger serial) {
        return inTransaction(() -> {
            try (PreparedStatement p = db.prepareStatement(
                    "SELECT name FROM certs WHERE serial = ? AND revoked_at IS NULL")) {
                p.setString(1, serial.toString(16));
                try (ResultSet rs = p.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
                }
            }
        });
    }

    // ---------------------------------------------------------------- plumbing

    @FunctionalInterface
    private interface Work<T, E extends Exception> {
        T run() throws SQLException, E;
    }

    private <T, E extends Exception> T inTransaction(Work<T, E> work) throws E {
        try {
            return inTransaction(db, work);
        } catch (SQLException e) {
            throw new IllegalStateException("the CA database " + dir.resolve(DB_FILE) + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Runs {@code work} in a {@code BEGIN IMMEDIATE} transaction: the write lock is taken up front,
     * so a check-then-update (uses left, name free) cannot interleave with another writer, even
     * one in another process.
     */
    private static <T, E extends Exception> T inTransaction(Connection db, Work<T, E> work) throws SQLException, E {
        try (Statement s = db.createStatement()) {
            s.execute("BEGIN IMMEDIATE");
        }
        boolean committed = false;
        try {
            T result = work.run();
            try (Statement s = db.createStatement()) {
                s.execute("COMMIT");
            }
            committed = true;
            return result;
        } finally {
            if (!committed) {
                try (Statement s = db.createStatement()) {
                    s.execute("ROLLBACK");
                } catch (SQLException ignored) {
                    // The original failure is the one worth reporting.
                }
            }
        }
    }

    private static byte[] encoded(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException ignored) {
                // Nothing useful to do when closing fails.
            }
        }
    }
}
