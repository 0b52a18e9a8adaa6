package io.herd.node;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.herd.api.proto.JoinReply;
import io.herd.api.proto.JoinRequest;
import io.herd.api.proto.JoinServiceGrpc;
import io.herd.security.ClusterCa;
import io.herd.security.JoinToken;
import io.herd.security.NodeIdentity;
import io.herd.security.Pins;
import io.herd.security.Revocations;
import io.herd.security.TlsContexts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyPair;
import java.security.cert.CertificateFactory;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Creates a node's data directory for {@code herd init} and {@code herd join}.
 * Everything is written into a scratch directory next to the target and moved
 * into place only when complete, so a failure never leaves a half-written data
 * directory behind.
 */
public final class NodeSetup {

    /** A setup failure to show the user as one line. */
    public static final class SetupException extends Exception {
        public SetupException(String message) {
            super(message);
        }
    }

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    private NodeSetup() {}

    /** The listen and advertise addresses a new node will use. */
    public record Endpoint(String listenHost, int port, String advertiseHost) {
        public static Endpoint of(String listen, String advertise) {
            InetSocketAddress l = NodeConfig.parseListen(listen == null ? NodeConfig.DEFAULT_LISTEN : listen);
            String adv = advertise != null ? advertise : NodeConfig.defaultAdvertiseHost(l.getHostString());
            return new Endpoint(l.getHostString(), l.getPort(), adv);
        }
    }

    /** {@code herd init}: a new cluster with its CA and this first node. */
    public static NodeConfig init(DataDir dir, String name, String cluster, Endpoint ep) throws SetupException {
        String nodeName = checkName(name == null ? NodeConfig.defaultName() : name);
        checkTarget(dir);
        checkPorts(ep);
        Path scratch = scratch(dir);
        try {
            ClusterCa ca = ClusterCa.create(cluster, scratch.resolve("ca"));
            try {
                KeyPair kp = NodeIdentity.generateKey();
                X509Certificate cert = ca.issueSelf(nodeName, kp.getPublic());
                new NodeIdentity(kp.getPrivate(), cert, ca.certificate()).save(scratch);
                Revocations.load(scratch, ca.certificate()).update(ca.currentCrl());
            } finally {
                ca.close();
            }
            NodeConfig cfg = new NodeConfig(nodeName, cluster, ep.listenHost(), ep.port(), ep.advertiseHost(),
                    nodeName, ep.advertiseHost() + ":" + ep.port());
            cfg.save(scratch.resolve("node.properties"));
            commit(scratch, dir);
            return cfg;
        } catch (Exception e) {
            deleteTree(scratch);
            if (e instanceof SetupException se) throw se;
            throw new SetupException("could not create the node in " + dir + ": " + e.getMessage());
        }
    }

    /** {@code herd join}: verifies the pin, gets a certificate through a CSR and writes the data directory. */
    public static NodeConfig join(DataDir dir, String address, String tokenText, String name, Endpoint ep, Clock clock)
            throws SetupException {
        JoinToken token;
        try {
            token = JoinToken.parse(tokenText.trim());
        } catch (IllegalArgumentException e) {
            throw new SetupException(e.getMessage());
        }
        if (token.expiredAt(clock.instant())) {
            throw new SetupException("the join token expired at " + token.expires()
                    + "; run `herd token` on the node that ran `herd init` for a new one");
        }
        String nodeName = checkName(name == null ? NodeConfig.defaultName() : name);
        checkTarget(dir);
        checkPorts(ep);
        String target = address.contains(":") ? address : address + ":" + NodeConfig.DEFAULT_PORT;

        KeyPair kp = NodeIdentity.generateKey();
        JoinReply reply = callJoin(target, token, nodeName, kp, ep);

        Path scratch = scratch(dir);
        try {
            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            X509Certificate cert = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(reply.getNodeCertDer().toByteArray()));
            X509Certificate caCert = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(reply.getCaCertDer().toByteArray()));
            if (!java.util.Arrays.equals(Pins.pin(caCert.getPublicKey()), token.caPin())) {
                throw new SetupException("the CA certificate sent by " + target + " does not match the token's pin; refusing to join");
            }
            cert.verify(caCert.getPublicKey());
            if (!cert.getPublicKey().equals(kp.getPublic())) {
                throw new SetupException("the certificate sent by " + target + " is not for this node's key; refusing to join");
            }
            new NodeIdentity(kp.getPrivate(), cert, caCert).save(scratch);
            Revocations rev = Revocations.load(scratch, caCert);
            if (!reply.getCrlDer().isEmpty()) {
                rev.update((X509CRL) cf.generateCRL(new ByteArrayInputStream(reply.getCrlDer().toByteArray())));
            }
            NodeConfig cfg = new NodeConfig(nodeName, reply.getClusterName(), ep.listenHost(), ep.port(), ep.advertiseHost(),
                    reply.getCaNodeName(), reply.getCaNodeAddress());
            cfg.save(scratch.resolve("node.properties"));
            Files.write(scratch.resolve("peers.txt"), reply.getMemberGrpcAddressesList());
            commit(scratch, dir);
            return cfg;
        } catch (Exception e) {
            deleteTree(scratch);
            if (e instanceof SetupException se) throw se;
            throw new SetupException("could not write the node's data directory " + dir + ": " + e.getMessage());
        }
    }

    private static JoinReply callJoin(String target, JoinToken token, String nodeName, KeyPair kp, Endpoint ep)
            throws SetupException {
        ManagedChannel ch;
        try {
            ch = NettyChannelBuilder.forTarget(target)
                    .sslContext(TlsContexts.grpcJoinClient(token.caPin()))
                    .overrideAuthority("herd")
                    .build();
        } catch (IllegalArgumentException e) {
            throw new SetupException("bad address '" + target + "': " + e.getMessage() + "; use HOST:PORT as printed by `herd token`");
        }
        try {
            return JoinServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS).join(JoinRequest.newBuilder()
                    .setTokenId(token.id())
                    .setTokenSecret(com.google.protobuf.ByteString.copyFrom(token.secret()))
                    .setNodeName(nodeName)
                    .setCsrDer(com.google.protobuf.ByteString.copyFrom(NodeIdentity.csr(kp, nodeName)))
                    .setGrpcAddress(ep.advertiseHost() + ":" + ep.port())
                    .setHerdVersion(Version.get())
                    .build());
        } catch (StatusRuntimeException e) {
            throw new SetupException(explain(e, target, nodeName));
        } finally {
            ch.shutdownNow();
        }
    }

    static String explain(StatusRuntimeException e, String target, String nodeName) {
        Status s = e.getStatus();
        String pin = findCause(e, "does not match the token's pin");
        if (pin != null) return pin + "; check the address, or get a token from this cluster's `herd token`";
        return switch (s.getCode()) {
            case UNAVAILABLE, DEADLINE_EXCEEDED -> "cannot reach a herd node at " + target + " ("
                    + (s.getCause() != null ? rootMessage(s.getCause()) : s.getDescription())
                    + "); check the address, that its daemon runs and that the port is open";
            case ALREADY_EXISTS, PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION -> s.getDescription();
            default -> "join through " + target + " failed: " + s.getCode() + " " + s.getDescription();
        };
    }

    private static String findCause(Throwable t, String needle) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null && c.getMessage().contains(needle)) {
                String m = c.getMessage();
                int i = m.indexOf("the server's cluster CA");
                return i >= 0 ? m.substring(i) : m;
            }
        }
        return null;
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null) c = c.getCause();
        String m = c.getMessage();
        return m == null ? c.getClass().getSimpleName() : m;
    }

    static String checkName(String name) throws SetupException {
        String n = name.toLowerCase();
        if (!NAME.matcher(n).matches()) {
            throw new SetupException("bad node name '" + name + "': use 1-63 letters, digits and '-', starting with a letter or digit");
        }
        return n;
    }

    private static void checkTarget(DataDir dir) throws SetupException {
        if (dir.isInitialised()) {
            throw new SetupException(dir + " already holds a herd node; start it with `herd daemon --data " + dir
                    + "`, or give another directory with --data");
        }
        if (Files.isDirectory(dir.root())) {
            try (Stream<Path> s = Files.list(dir.root())) {
                if (s.anyMatch(p -> !p.getFileName().toString().equals("daemon.log"))) {
                    throw new SetupException(dir + " is not empty; give an empty or new directory with --data");
                }
            } catch (IOException e) {
                throw new SetupException("cannot read " + dir + ": " + e.getMessage());
            }
        }
    }

    private static void checkPorts(Endpoint ep) throws SetupException {
        for (int port : new int[] {ep.port(), ep.port() + 1}) {
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(NodeConfig.isWildcard(ep.listenHost()) ? "0.0.0.0" : ep.listenHost(), port));
            } catch (BindException e) {
                throw new SetupException("port " + port + " on " + ep.listenHost() + " is in use (herd needs PORT and PORT+1); "
                        + "pick another with --listen HOST:PORT");
            } catch (IOException e) {
                throw new SetupException("cannot listen on " + ep.listenHost() + ":" + port + ": " + e.getMessage());
            }
        }
    }

    private static Path scratch(DataDir dir) throws SetupException {
        try {
            Path parent = dir.root().getParent();
            Files.createDirectories(parent);
            return Files.createTempDirectory(parent, "." + dir.root().getFileName() + ".new-");
        } catch (IOException e) {
            throw new SetupException("cannot create " + dir + ": " + e.getMessage());
        }
    }

    private static void commit(Path scratch, DataDir dir) throws IOException {
        Path log = dir.log();
        if (Files.exists(log)) Files.move(log, scratch.resolve("daemon.log"), StandardCopyOption.REPLACE_EXISTING);
        Files.move(scratch, dir.root(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        // The node's private key lives here: owner only, others may reach the control socket.
        Files.setPosixFilePermissions(dir.root(), java.nio.file.attribute.PosixFilePermissions.fromString("rwx--x--x"));
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a scratch directory
        }
    }
}
