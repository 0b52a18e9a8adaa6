package io.herd.node;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Finds free port pairs on loopback for local clusters (demo, tests, benchmarks):
 * a node uses PORT and PORT+1. The ports come from below the kernel's ephemeral
 * range: a port above it can be free now and taken a moment later by any
 * outgoing connection (a restarted node then cannot bind its own port again).
 */
public final class Ports {
    private static final int LOWEST = 10000;

    private Ports() {}

    /** {@code n} distinct base ports P with P and P+1 both free on 127.0.0.1, from a random start so parallel runs rarely collide. */
    public static int[] freePairs(int n) {
        int top = ephemeralStart(Path.of("/proc/sys/net/ipv4/ip_local_port_range")) - 2;
        int span = Math.max(2, (top - LOWEST) / 2);
        int[] out = new int[n];
        int found = 0;
        int port = LOWEST + 2 * ThreadLocalRandom.current().nextInt(span);
        for (int attempts = 0; found < n && attempts < span; attempts++) {
            if (free(port) && free(port + 1)) out[found++] = port;
            port += 2;
            if (port > top) port = LOWEST;
        }
        if (found < n) throw new IllegalStateException("could not find " + n + " free port pairs on 127.0.0.1");
        return out;
    }

    public static int freePair() {
        return freePairs(1)[0];
    }

    /** First port of the kernel's ephemeral range (32768 when it cannot be read). */
    static int ephemeralStart(Path rangeFile) {
        try {
            String[] f = Files.readString(rangeFile).trim().split("\\s+");
            int low = Integer.parseInt(f[0]);
            return low > LOWEST + 1000 ? low : 32768;
        } catch (IOException | RuntimeException e) {
            return 32768;
        }
    }

    static boolean free(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
