package io.herd.security;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.KeyManagementException;
import java.security.SecureRandom;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * An initialised SSLContext whose every socket, server socket and engine speaks only TLS 1.3
 * and, in the server role, requires a client certificate. The JDK has no per-context switch for
 * either (an "TLSv1.3" context still enables TLS 1.2 for clients), and JGroups only configures
 * the server sockets it makes, so the policy is applied here, where every socket is created.
 * Callers may still change a socket's parameters afterwards; herd's own code does not loosen them.
 */
final class Tls13OnlyContext extends SSLContext {
    static final String[] PROTOCOLS = {"TLSv1.3"};

    Tls13OnlyContext(SSLContext delegate) {
        super(new Spi(delegate), delegate.getProvider(), delegate.getProtocol());
    }

    static SSLParameters restrict(SSLParameters p) {
        p.setProtocols(PROTOCOLS.clone());
        p.setNeedClientAuth(true); // only takes effect in the server role
        return p;
    }

    private static <S extends SSLSocket> S restrict(S s) {
        s.setSSLParameters(restrict(s.getSSLParameters()));
        return s;
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext delegate;

        Spi(SSLContext delegate) {
            this.delegate = delegate;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("this SSLContext is already initialised with the node's identity");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return new Sockets(delegate.getSocketFactory());
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return new ServerSockets(delegate.getServerSocketFactory());
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            SSLEngine e = delegate.createSSLEngine();
            e.setSSLParameters(restrict(e.getSSLParameters()));
            return e;
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            SSLEngine e = delegate.createSSLEngine(host, port);
            e.setSSLParameters(restrict(e.getSSLParameters()));
            return e;
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return delegate.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return delegate.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return restrict(delegate.getDefaultSSLParameters());
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return restrict(delegate.getSupportedSSLParameters());
        }
    }

    private static final class Sockets extends SSLSocketFactory {
        private final SSLSocketFactory d;

        Sockets(SSLSocketFactory d) {
            this.d = d;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return d.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return d.getSupportedCipherSuites();
        }

        @Override
        public Socket createSocket() throws IOException {
            return restrict((SSLSocket) d.createSocket());
        }

        @Override
        public Socket createSocket(Socket s, String host, int port, boolean autoClose) throws IOException {
            return restrict((SSLSocket) d.createSocket(s, host, port, autoClose));
        }

        @Override
        public Socket createSocket(Socket s, InputStream consumed, boolean autoClose) throws IOException {
            return restrict((SSLSocket) d.createSocket(s, consumed, autoClose));
        }

        @Override
        public Socket createSocket(String host, int port) throws IOException {
            return restrict((SSLSocket) d.createSocket(host, port));
        }

        @Override
        public Socket createSocket(String host, int port, InetAddress localHost, int localPort) throws IOException {
            return restrict((SSLSocket) d.createSocket(host, port, localHost, localPort));
        }

        @Override
        public Socket createSocket(InetAddress host, int port) throws IOException {
            return restrict((SSLSocket) d.createSocket(host, port));
        }

        @Override
        public Socket createSocket(InetAddress address, int port, InetAddress localAddress, int localPort)
                throws IOException {
            return restrict((SSLSocket) d.createSocket(address, port, localAddress, localPort));
        }
    }

    private static final class ServerSockets extends SSLServerSocketFactory {
        private final SSLServerSocketFactory d;

        ServerSockets(SSLServerSocketFactory d) {
            this.d = d;
        }

        private static ServerSocket restrictServer(ServerSocket s) {
            SSLServerSocket ss = (SSLServerSocket) s;
            ss.setSSLParameters(restrict(ss.getSSLParameters()));
            return ss;
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return d.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return d.getSupportedCipherSuites();
        }

        @Override
        public ServerSocket createServerSocket() throws IOException {
            return restrictServer(d.createServerSocket());
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return restrictServer(d.createServerSocket(port));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
            return restrictServer(d.createServerSocket(port, backlog));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress ifAddress) throws IOException {
            return restrictServer(d.createServerSocket(port, backlog, ifAddress));
        }
    }
}
