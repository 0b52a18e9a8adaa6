package io.herd.owner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PSI and MemAvailable from a fake /proc; detection on this machine. */
class PressureTest {

    @TempDir
    Path proc;

    private void psi(String file, long someTotal) throws IOException {
        Files.createDirectories(proc.resolve("pressure"));
        Files.writeString(proc.resolve("pressure/" + file), "some avg10=1.00 avg60=0.50 avg300=0.10 total=" + someTotal
                + "\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
    }

    @Test
    void sharesAreTheStallTimeBetweenTwoSamples() throws IOException {
        psi("io", 1_000_000);
        psi("memory", 5_000);
        Files.writeString(proc.resolve("meminfo"), "MemTotal:       24683988 kB\nMemFree:        1000 kB\nMemAvailable:   2048 kB\n");
        Pressure p = new Pressure(proc);
        assertThat(p.hasPsi()).isTrue();
        p.sample(0);
        assertThat(p.ioSome()).as("one sample: no interval yet").isNaN();
        psi("io", 1_250_000);    // 250 ms of stall in 1 s
        psi("memory", 5_000);
        p.sample(1_000_000_000L);
        assertThat(p.ioSome()).isEqualTo(0.25);
        assertThat(p.memSome()).isZero();
        assertThat(p.memAvailable()).isEqualTo(2048 * 1024);
        assertThat(p.memTotal()).isEqualTo(24683988L * 1024);
    }

    @Test
    void aKernelWithoutPsiSaysSoAndMemoryIsStillRead() throws IOException {
        Files.writeString(proc.resolve("meminfo"), "MemTotal: 1000 kB\n");
        Pressure p = new Pressure(proc);
        assertThat(p.hasPsi()).isFalse();
        p.sample(1);
        assertThat(p.ioSome()).isNaN();
        assertThat(p.memAvailable()).as("no MemAvailable line (Linux < 3.14)").isEqualTo(-1);
        assertThat(p.memTotal()).isEqualTo(1000 * 1024);
    }

    @Test
    void thisMachine() {
        Pressure p = new Pressure(Path.of("/proc"));
        assertThat(p.hasPsi()).isEqualTo(Files.isReadable(Path.of("/proc/pressure/io")));
        assertThat(p.memTotal()).isPositive();
    }
}
