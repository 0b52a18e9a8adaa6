package io.herd.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS 1.3 handshakes over loopback sockets with the contexts JGroups will use. */
class TlsHandshakeTest {
    private static final int TIMEOUT_MS = 10_000;

    @TempDir
    Path tmp;

    private TestPki pki;
    private ExecutorService pool;

    @BeforeEach
    void setUp() {
        pki = TestPki.create(tmp, "lab");
        pool = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
        pki.close();
    }

    private record Served(Optional<String> peer, String protocol) {}

    /** A server socket that, per {@link #acceptOne()}, completes one handshake and answers one byte. */
    private final class Server implements AutoCloseable {
        final SSLServerSocket socket;
        Future<Served> result;

        Server(SSLContext ctx) throws IOException {
            socket = (SSLServerSocket) ctx.getServerSocketFactory().createServerSocket(0, 5,
                    InetAddress.getLoopbackAddress());
            socket.setNeedClientAuth(true);
            socket.setSoTimeout(TIMEOUT_MS);
            acceptOne();
        }

        void acceptOne() {
            result = pool.submit(() -> {
                try (SSLSocket s = (SSLSocket) socket.accept()) {
                    s.setSoTimeout(TIMEOUT_MS);
                    s.startHandshake();
                    s.getOutputStream().write(42);
                    s.getOutputStream().flush();
                    s.getInputStream().read(); // wait for the client to hang up
                    return new Served(TlsContexts.peerName(s.getSession()), s.getSession().getProtocol());
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** Connects, handshakes, reads the server's byte; returns the server's name as the client saw it. */
    private static Optional<String> connect(SSLContext ctx, int port) throws IOException {
        try (SSLSocket c = (SSLSocket) ctx.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
            c.setSoTimeout(TIMEOUT_MS);
            c.startHandshake();
            // In TLS 1.3 the client finishes first; a rejected client certificate shows up here.
            if (c.getInputStream().read() != 42) {
                throw new IOException("the server closed the connection");
            }
            return TlsContexts.peerName(c.getSession());
        }
    }

    @Test
    void twoNodesOfTheClusterConnectAndLearnEachOthersName() throws Exception {
        NodeIdentity alpha = pki.join("alpha");
        NodeIdentity beta = pki.join("beta");
        SSLContext serverCtx = TlsContexts.jdk(alpha, pki.revocations("alpha"));
        SSLContext clientCtx = TlsContexts.jdk(beta, pki.revocations("beta"));

        try (Server server = new Server(serverCtx)) {
            assertThat(connect(clientCtx, server.port())).contains("alpha");
            Served served = server.result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
            assertThat(served.peer()).contains("beta");
            assertThat(served.protocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void aNodeOfAnotherClusterIsRefused() throws Exception {
        NodeIdentity alpha = pki.join("alpha");
        try (TestPki other = TestPki.create(tmp.resolve("other"), "lab");
             Server server = new Server(TlsContexts.jdk(alpha, pki.revocations("alpha")))) {
            NodeIdentity intruder = other.join("mallory");
            SSLContext clientCtx = TlsContexts.jdk(intruder, other.revocations("mallory"));

            assertThatThrownBy(() -> connect(clientCtx, server.port()))
                    .isInstanceOf(IOException.class);
            assertServerFailed(server);

            // The CA certificate is public: an intruder may trust it, but cannot get a certificate from it.
            SSLContext trustsUs = SSLContext.getInstance("TLSv1.3");
            trustsUs.init(new KeyManager[] {new NodeKeyManager(intruder)},
                    new TrustManager[] {new CaTrustManager(pki.ca.certificate(), pki.revocations("x"))}, null);
            server.acceptOne();
            assertThatThrownBy(() -> connect(trustsUs, server.port())).isInstanceOf(IOException.class);
            assertThatThrownBy(() -> server.result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS))
                    .cause().isInstanceOf(SSLHandshakeException.class)
                    .hasMessageContaining("(CN=mallory").hasMessageContaining("not signed by this cluster's CA");
        }
    }

    @Test
    void aClientWithoutCertificateIsRefused() throws Exception {
        NodeIdentity alpha = pki.join("alpha");
        SSLContext anonymous = SSLContext.getInstance("TLSv1.3");
        anonymous.init(null, new TrustManager[] {new CaTrustManager(pki.ca.certificate(), pki.revocations("x"))},
                null);
        try (Server server = new Server(TlsContexts.jdk(alpha, pki.revocations("alpha")))) {
            assertThatThrownBy(() -> connect(anonymous, server.port()))
                    .isInstanceOf(IOException.class);
            assertServerFailed(server);
        }
    }

    @Test
    void aNodeRevokedAfterConnectingCannotReconnect() throws Exception {
        // Guards against TLS session resumption, which skips the certificate check: same client
        // context, same server socket, so a cached session would be offered if there were one.
        NodeIdentity alpha = pki.join("alpha");
        NodeIdentity beta = pki.join("beta");
        Revocations alphaRev = pki.revocations("alpha");
        SSLContext clientCtx = TlsContexts.jdk(beta, pki.revocations("beta"));
        try (Server server = new Server(TlsContexts.jdk(alpha, alphaRev))) {
            assertThat(connect(clientCtx, server.port())).contains("alpha");
            assertThat(server.result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS).peer()).contains("beta");

            alphaRev.update(pki.ca.revoke("beta", Instant.now()));

            server.acceptOne();
            assertThatThrownBy(() -> connect(clientCtx, server.port())).isInstanceOf(IOException.class);
            assertServerFailed(server);
        }
    }

    @Test
    void theContextSpeaksOnlyTls13() throws Exception {
        NodeIdentity alpha = pki.join("alpha");
        NodeIdentity beta = pki.join("beta");
        SSLContext ctx = TlsContexts.jdk(alpha, pki.revocations("alpha"));
        assertThat(ctx.getDefaultSSLParameters().getProtocols()).containsExactly("TLSv1.3");
        assertThat(ctx.createSSLEngine().getEnabledProtocols()).containsExactly("TLSv1.3");
        assertThat(ctx.createSSLEngine().getNeedClientAuth()).isTrue();

        // A client that offers only TLS 1.2 gets nowhere.
        SSLContext clientCtx = TlsContexts.jdk(beta, pki.revocations("beta"));
        try (Server server = new Server(ctx);
             SSLSocket c = (SSLSocket) clientCtx.getSocketFactory()
                     .createSocket(InetAddress.getLoopbackAddress(), server.port())) {
            c.setSoTimeout(TIMEOUT_MS);
            c.setEnabledProtocols(new String[] {"TLSv1.2"});
            assertThatThrownBy(c::startHandshake).isInstanceOf(SSLHandshakeException.class);
            assertServerFailed(server);
        }
    }

    private static void assertServerFailed(Server server) {
        assertThatThrownBy(() -> server.result.get(TIMEOUT_MS, TimeUnit.MILLISECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(IOException.class);
    }
}
