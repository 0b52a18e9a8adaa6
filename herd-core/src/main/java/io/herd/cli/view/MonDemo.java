package io.herd.cli.view;

import io.herd.membership.NodeView;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Manual check of {@link MonView} without a cluster: {@code MonDemo [nodes]}
 * shows that many fake nodes (default 6) whose load wanders every second; the
 * last of them dies and comes back every ten seconds.
 */
public final class MonDemo {

    private static final String[] NAMES = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
    private static final long G = 1L << 30;

    private MonDemo() {
    }

    public static void main(String[] args) throws IOException {
        int count = args.length > 0 ? Integer.parseInt(args[0]) : NAMES.length;
        Supplier<List<NodeView>> source = new FakeCluster(count, new Random(42));
        int code;
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            code = new MonView(source, "demo").run(terminal);
        }
        System.exit(code);
    }

    private static final class FakeCluster implements Supplier<List<NodeView>> {
        private final Random random;
        private final double[] load;
        private final int[] cores;
        private final double[] speed;
        private final long[] memTotal;
        private final double[] memUsed;
        private final long started = System.nanoTime();

        FakeCluster(int count, Random random) {
            this.random = random;
            load = new double[count];
            cores = new int[count];
            speed = new double[count];
            memTotal = new long[count];
            memUsed = new double[count];
            for (int i = 0; i < count; i++) {
                cores[i] = new int[]{2, 4, 8, 16}[random.nextInt(4)];
                speed[i] = 1.5 + random.nextDouble() * 2.5;
                memTotal[i] = new long[]{4, 8, 16, 32}[random.nextInt(4)] * G;
                memUsed[i] = 0.2 + random.nextDouble() * 0.5;
                load[i] = random.nextDouble() * cores[i];
            }
        }

        @Override
        public List<NodeView> get() {
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;
            List<NodeView> nodes = new ArrayList<>();
            for (int i = 0; i < load.length; i++) {
                load[i] = clamp(load[i] + random.nextGaussian() * cores[i] * 0.15, 0, cores[i] * 1.3);
                memUsed[i] = clamp(memUsed[i] + random.nextGaussian() * 0.03, 0.05, 0.98);
                boolean dead = i == load.length - 1 && (seconds / 10) % 2 == 1;
                String name = load.length <= NAMES.length ? NAMES[i] : String.format("node-%02d", i + 1);
                long free = (long) (memTotal[i] * (1 - memUsed[i]));
                nodes.add(new NodeView(name, "10.0.0." + (11 + i) + ":7946", dead ? "dead" : "alive",
                        cores[i], speed[i], load[i], Math.min(100, 100 * load[i] / cores[i]), free, memTotal[i],
                        2 * G, 2 * G, i * 700L, i % 3 == 0, i % 3, cores[i] / 2, "bwrap+cgroup2", "0.1.0",
                        dead ? 10 + seconds % 10 : 0.4, i == 0));
            }
            return nodes;
        }

        private static double clamp(double v, double lo, double hi) {
            return Math.max(lo, Math.min(hi, v));
        }
    }
}
