package io.herd.multihost;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.testing.ExactlyOnce;
import io.herd.testing.NetnsCluster;
import io.herd.testing.NetnsCluster.Host;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * The chaos soak: for {@code -Dherd.soak.minutes=N} minutes, arrays run on four hosts in network
 * namespaces while random faults from the scenarios' list hit them (a host killed and restarted,
 * the home killed and restarted, a partition in halves, latency and loss where the kernel has
 * netem or on the user-space wire, a host leaving and coming back, a host's disk filling and freed), then every array is
 * checked: jobs lost and duplicated (goal 0 and 0), the home journal consistent. Bounded: it stops
 * starting arrays at the deadline and each array has a time limit. Not in the default suite
 * (run it with {@code scripts/chaos-soak --minutes N}); it writes its tally to
 * {@code target/chaos-soak.txt} for RELIABILITY.md.
 */
@EnabledIfSystemProperty(named = "herd.soak.minutes", matches = "\\d+(\\.\\d+)?")
class ChaosSoakTest {

    private static final int HOSTS = 4;
    private static final int JOBS = Integer.getInteger("herd.soak.jobs", 150);

    @Test
    void randomFaultsWhileArraysRunLoseNothing() throws Exception {
        NetnsCluster.assumeAvailable();
        double minutes = Double.parseDouble(System.getProperty("herd.soak.minutes"));
        long seed = Long.getLong("herd.seed", System.nanoTime());
        Random random = new Random(seed);
        Instant deadline = Instant.now().plusMillis((long) (minutes * 60_000));
        boolean wire = !NetnsCluster.hasNetem() && NetnsCluster.canWire();
        boolean netem = NetnsCluster.hasNetem() || wire;
        Map<String, Integer> faults = new TreeMap<>();
        int arrays = 0;
        int jobs = 0;
        int lost = 0;
        int duplicated = 0;
        List<String> problems = new ArrayList<>();
        long start = System.nanoTime();
        try (NetnsCluster net = NetnsCluster.formed(HOSTS, 0, "", Map.of(4, 96), wire)) {
            Host home = net.host(1);
            while (Instant.now().isBefore(deadline)) {
                arrays++;
                ExactlyOnce a = ExactlyOnce.submit(net.root().resolve("a" + arrays), JOBS, "0.1", ExactlyOnce.at(home.data()));
                // Faults while the array runs: one every few seconds, each undone before the next.
                while (a.finished() < JOBS && Instant.now().isBefore(deadline.plusSeconds(60))) {
                    String f = inject(net, random, netem);
                    faults.merge(f, 1, Integer::sum);
                    whole(net);
                }
                a.awaitFinished(Duration.ofMinutes(5));
                ExactlyOnce.Tally t = a.tally(home.journal());
                jobs += t.jobs();
                lost += t.lost();
                duplicated += t.duplicated();
                problems.addAll(t.problems());
            }
        }
        String line = String.format("chaos soak: seed %d, %.1f min asked, %.1f min run, %d arrays, %d jobs, faults %s, lost %d, duplicated %d%s",
                seed, minutes, (System.nanoTime() - start) / 60e9, arrays, jobs, faults, lost, duplicated,
                problems.isEmpty() ? "" : ", problems: " + problems.subList(0, Math.min(20, problems.size())));
        System.out.println(line);
        Files.writeString(Path.of("target/chaos-soak.txt"), line + "\n", java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND);
        assertThat(lost).as(line).isZero();
        assertThat(duplicated).as(line).isZero();
        assertThat(problems).as(line).isEmpty();
    }

    /** One random fault, held for a random 2-8 s, then undone; returns its name. */
    private static String inject(NetnsCluster net, Random random, boolean netem) throws Exception {
        Host victim = net.host(2 + random.nextInt(HOSTS - 1));
        long hold = 2000 + random.nextInt(6000);
        int kind = random.nextInt(netem ? 6 : 5);
        switch (kind) {
            case 0 -> {
                net.kill9(victim);
                pause(hold);
                net.restart(victim);
                return "kill-host";
            }
            case 1 -> {
                net.kill9(net.host(1));
                pause(hold);
                net.restart(net.host(1));
                return "kill-home";
            }
            case 2 -> {
                net.split(net.host(3), net.host(4));
                pause(hold);
                net.unsplit();
                return "partition";
            }
            case 3 -> {
                net.herd(victim, "leave");
                pause(hold);
                net.restart(victim);
                return "leave";
            }
            case 4 -> {
                net.fillDisk(net.host(4));
                pause(hold);
                net.freeDisk(net.host(4));
                return "disk-full";
            }
            default -> {
                for (Host h : net.hosts()) net.impair(h, 100, 20, 2);
                pause(hold);
                for (Host h : net.hosts()) net.clearImpairment(h);
                return "netem";
            }
        }
    }

    /** The fault's length (not a wait for something): the fault holds this long. */
    private static void pause(long ms) throws InterruptedException {
        Thread.sleep(ms);
    }

    private static void whole(NetnsCluster net) {
        Map<String, String> alive = new LinkedHashMap<>();
        for (Host h : net.hosts()) {
            if (!net.running(h)) net.restart(h);
            alive.put(h.name(), "alive");
        }
        try {
            net.awaitStates(net.host(1), alive, Duration.ofSeconds(60));
        } catch (AssertionError e) {
            // The next fault or the final check will tell; the soak goes on.
        }
    }
}
