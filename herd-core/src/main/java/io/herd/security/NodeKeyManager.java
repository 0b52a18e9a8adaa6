package io.herd.security;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the node's one key and chain, as client and as server. A KeyManagerFactory would need
 * an in-memory KeyStore and a throw-away password for the same effect.
 */
final class NodeKeyManager extends X509ExtendedKeyManager {
    private static final String ALIAS = "herd-node";

    private final PrivateKey key;
    private final X509Certificate[] chain;

    NodeKeyManager(NodeIdentity id) {
        this.key = id.key();
        this.chain = id.chain();
    }

    /** The JDK asks for "EC" in TLS 1.3 and "EC_EC"-style types in older protocols. */
    private boolean fits(String keyType) {
        return keyType != null && (keyType.equals(key.getAlgorithm()) || keyType.startsWith(key.getAlgorithm() + "_"));
    }

    private String choose(String... keyTypes) {
        return keyTypes != null && Arrays.stream(keyTypes).anyMatch(this::fits) ? ALIAS : null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return choose(keyType);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return choose(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return fits(keyType) ? new String[] {ALIAS} : null;
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return choose(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return choose(keyType);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? chain.clone() : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? key : null;
    }
}
