package io.herd.node;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collections;
import java.util.Properties;

/**
 * What a node is: its name, its cluster, where it listens. Stored as
 * {@code node.properties} in the data directory so a daemon restart (or a
 * systemd start) needs no flags.
 *
 * <p>Ports: gRPC on {@code port}, membership (JGroups) on {@code port + 1}. A
 * firewall between nodes needs exactly those two holes.
 */
public record NodeConfig(String name, String cluster, String listenHost, int port, String advertiseHost,
                         String caNode, String caAddress) {

    public static final int DEFAULT_PORT = 7700;
    public static final String DEFAULT_LISTEN = "0.0.0.0:" + DEFAULT_PORT;

    /** "NAME at ADDRESS" of the node holding the CA, for messages; empty if unknown. */
    public String caNodeHint() {
        return caNode.isEmpty() ? "" : caNode + " at " + caAddress;
    }

    public int grpcPort() { return port; }
    public int membershipPort() { return port + 1; }

    /** {@code host:port} other nodes use to reach this node's gRPC service. */
    public String grpcAddress() { return advertiseHost + ":" + port; }

    public InetSocketAddress grpcBind() { return new InetSocketAddress(listenHost, port); }

    /** JGroups needs a concrete interface to bind and advertise; the wildcard is replaced by the advertised address. */
    public InetAddress membershipBind() throws UnknownHostException {
        return InetAddress.getByName(isWildcard(listenHost) ? advertiseHost : listenHost);
    }

    /** Parses {@code HOST:PORT}, {@code :PORT}, {@code HOST} or {@code PORT}. */
    public static InetSocketAddress parseListen(String spec) {
        String s = spec.trim();
        String host = "0.0.0.0";
        String portText = String.valueOf(DEFAULT_PORT);
        int colon = s.lastIndexOf(':');
        if (colon >= 0) {
            if (colon > 0) host = s.substring(0, colon);
            portText = s.substring(colon + 1);
        } else if (s.chars().allMatch(Character::isDigit) && !s.isEmpty()) {
            portText = s;
        } else if (!s.isEmpty()) {
            host = s;
        }
        if (host.startsWith("[") && host.endsWith("]")) host = host.substring(1, host.length() - 1);
        int port;
        try {
            port = Integer.parseInt(portText);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad --listen '" + spec + "': the port must be a number, e.g. 0.0.0.0:7700");
        }
        if (port < 1 || port > 65534) {
            throw new IllegalArgumentException("bad --listen '" + spec + "': port must be 1..65534 (herd also uses port+1)");
        }
        return InetSocketAddress.createUnresolved(host, port);
    }

    public static boolean isWildcard(String host) {
        return host.equals("0.0.0.0") || host.equals("::") || host.equals("*");
    }

    /** The address to advertise when listening on all interfaces: a non-loopback IPv4 address if there is one. */
    public static String defaultAdvertiseHost(String listenHost) {
        if (!isWildcard(listenHost)) return listenHost;
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                if (!nif.isUp() || nif.isLoopback() || nif.isVirtual()) continue;
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    if (a instanceof java.net.Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
                        return a.getHostAddress();
                    }
                }
            }
        } catch (SocketException ignored) {
            // fall through to loopback
        }
        return "127.0.0.1";
    }

    /** The host name, lower-cased and reduced to the characters a node name allows. */
    public static String defaultName() {
        String h;
        try {
            h = InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            h = System.getenv().getOrDefault("HOSTNAME", "node");
        }
        int dot = h.indexOf('.');
        if (dot > 0) h = h.substring(0, dot);
        String n = h.toLowerCase().replaceAll("[^a-z0-9-]", "-").replaceAll("^-+", "");
        return n.isEmpty() ? "node" : n.substring(0, Math.min(63, n.length()));
    }

    public void save(Path file) throws IOException {
        Properties p = new Properties();
        p.setProperty("name", name);
        p.setProperty("cluster", cluster);
        p.setProperty("listen.host", listenHost);
        p.setProperty("port", Integer.toString(port));
        p.setProperty("advertise.host", advertiseHost);
        p.setProperty("ca.node", caNode);
        p.setProperty("ca.address", caAddress);
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "herd node configuration (gRPC on port, membership on port+1)");
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static NodeConfig load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        String name = p.getProperty("name");
        String port = p.getProperty("port");
        if (name == null || port == null) {
            throw new IOException(file + " is incomplete (needs name and port); re-create the node with `herd init` or `herd join`");
        }
        return new NodeConfig(name, p.getProperty("cluster", "herd"), p.getProperty("listen.host", "0.0.0.0"),
                Integer.parseInt(port.trim()), p.getProperty("advertise.host", "127.0.0.1"),
                p.getProperty("ca.node", ""), p.getProperty("ca.address", ""));
    }
}
