package io.herd.node;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.concurrent.ThreadLocalRandom;

/** Finds free port pairs on loopback for local clusters (demo, tests, benchmarks): a node uses PORT and PORT+1. */
public final class Ports {
    private Ports() {}

    /** {@code n} distinct base ports P with P and P+1 both free on 127.0.0.1, from a random start so parallel runs rarely collide. */
    public static int[] freePairs(int n) {
        int[] out = new int[n];
        int found = 0;
        int port = 20000 + 2 * ThreadLocalRandom.current().nextInt(15000);
        for (int attempts = 0; found < n && attempts < 4000; attempts++) {
            if (free(port) && free(port + 1)) out[found++] = port;
            port += 2;
            if (port > 60000) port = 20000;
        }
        if (found < n) throw new IllegalStateException("could not find " + n + " free port pairs on 127.0.0.1");
        return out;
    }

    public static int freePair() {
        return freePairs(1)[0];
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
