/**
 * Security: the cluster CA, node keys and certificates, join tokens and revocation.
 *
 * <h2>Model</h2>
 * <ul>
 *   <li><b>One CA per cluster, on the init node only.</b> {@code herd init} runs
 *       {@link io.herd.security.ClusterCa#create}: an EC P-256 key and a self-signed CA certificate
 *       in {@code dataDir/ca/}, with a SQLite record of everything issued. The CA key never leaves that
 *       node: no other node needs it, since peers are checked against the CA <em>certificate</em> and
 *       revocations travel as signed CRLs. Losing any other node loses no trust.</li>
 *   <li><b>Joining.</b> {@code herd token} makes a {@link io.herd.security.JoinToken}:
 *       {@code herd1.} + base64url of (version, 8-byte id, 20-byte secret, 32-byte CA pin,
 *       expiry). The CA stores only SHA-256 of the secret. {@code herd join} makes its own key,
 *       connects to the CA node with TLS checked by {@link io.herd.security.PinnedTrustManager}
 *       (the server must hold the CA whose key hash is the pin, so the secret never reaches an
 *       impostor), and sends id, secret, name and a CSR;
 *       {@link io.herd.security.ClusterCa#redeem} checks all of it in one transaction and returns the
 *       node certificate. Keys are never copied by hand.</li>
 *   <li><b>Between members</b> everything is TLS 1.3 with both sides' certificates checked by
 *       {@link io.herd.security.CaTrustManager}: signed by the cluster CA, valid, not a CA, not
 *       revoked. Host names are not checked; a peer is who its certificate's CN says
 *       ({@link io.herd.security.TlsContexts#peerName}).</li>
 *   <li><b>gRPC port: client certificate OPTIONAL.</b> The Join call must work for a node that has
 *       no certificate yet, on the same single port the firewall opens. So the TLS layer asks for a
 *       certificate and rejects any invalid one, but lets a certificate-less client finish the
 *       handshake; the daemon's interceptor then allows only Join without a verified peer. JGroups
 *       has no such call and requires certificates outright.</li>
 *   <li><b>Revocation.</b> {@link io.herd.security.ClusterCa#revoke} signs a CRL listing every revoked
 *       serial with an increasing CRL number. Nodes pass it on; {@link io.herd.security.Revocations}
 *       adopts only a CA-signed, newer one, so it can neither be forged nor rolled back. New
 *       handshakes of a revoked node fail at once: servers issue no TLS session tickets, because
 *       resuming a session would skip the certificate check. Open connections are the daemon's to
 *       close ({@link io.herd.security.Revocations#addListener}); gRPC calls can re-check per call
 *       with {@link io.herd.security.TlsContexts#peerName(javax.net.ssl.SSLSession, Revocations)}.</li>
 * </ul>
 *
 * <h2>On disk</h2>
 * <pre>
 * dataDir/ca/   (0700, init node only)  ca.key (0600), ca.crt, ca.db (0600; WAL, synchronous=FULL)
 * dataDir/tls/  (0700, every node)      node.key (0600), node.crt, ca.crt, crl.der
 * </pre>
 * PEM except {@code crl.der}; every file is written to a temp file, synced and renamed into place.
 *
 * <p>BouncyCastle only builds and parses certificates, CSRs and CRLs; the JDK's providers do the
 * cryptography and BouncyCastle is not registered as a JCA provider.
 */
package io.herd.security;
