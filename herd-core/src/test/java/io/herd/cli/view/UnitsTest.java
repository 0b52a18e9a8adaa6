package io.herd.cli.view;

import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

class UnitsTest {

    private static final long K = 1024;
    private static final long M = K * K;
    private static final long G = M * K;
    private static final long T = G * K;

    @Test
    void bytesUseBinaryUnitsWithADecimalFromGigabytesUp() {
        assertThat(Units.bytes(0)).isEqualTo("0B");
        assertThat(Units.bytes(1023)).isEqualTo("1023B");
        assertThat(Units.bytes(K)).isEqualTo("1K");
        assertThat(Units.bytes(512 * M)).isEqualTo("512M");
        assertThat(Units.bytes((long) (3.2 * G))).isEqualTo("3.2G");
        assertThat(Units.bytes(12 * G)).isEqualTo("12.0G");
        assertThat(Units.bytes(T)).isEqualTo("1.0T");
        assertThat(Units.bytes(Long.MAX_VALUE)).isEqualTo("8.0E");
    }

    @Test
    void bytesThatRoundUpToTheNextUnitMoveToIt() {
        assertThat(Units.bytes(G - 1)).isEqualTo("1.0G");       // not "1024M"
        assertThat(Units.bytes(T - G / 100)).isEqualTo("1.0T"); // not "1024.0G"
        assertThat(Units.bytes(1023 * G)).isEqualTo("1023.0G");
    }

    @Test
    void negativeBytesAreUnknown() {
        assertThat(Units.bytes(-1)).isEqualTo("-");
    }

    @Test
    void durationsShowTheTwoLargestUnitsRoundedDown() {
        assertThat(Units.duration(0)).isEqualTo("0s");
        assertThat(Units.duration(42)).isEqualTo("42s");
        assertThat(Units.duration(59)).isEqualTo("59s");
        assertThat(Units.duration(60)).isEqualTo("1m");
        assertThat(Units.duration(7 * 60 + 59)).isEqualTo("7m");
        assertThat(Units.duration(3600)).isEqualTo("1h");
        assertThat(Units.duration(3 * 3600 + 12 * 60 + 59)).isEqualTo("3h12m");
        assertThat(Units.duration(86_400 - 1)).isEqualTo("23h59m");
        assertThat(Units.duration(86_400)).isEqualTo("1d");
        assertThat(Units.duration(2 * 86_400 + 4 * 3600 + 30 * 60)).isEqualTo("2d4h");
        assertThat(Units.duration(400 * 86_400L)).isEqualTo("400d");
    }

    @Test
    void unknownDurationsAreADash() {
        assertThat(Units.duration(-1)).isEqualTo("-");
        assertThat(Units.duration(-1.0)).isEqualTo("-");
        assertThat(Units.duration(Double.NaN)).isEqualTo("-");
    }

    @Test
    void fractionalSecondsAreRoundedDown() {
        assertThat(Units.duration(42.9)).isEqualTo("42s");
        assertThat(Units.duration(0.3)).isEqualTo("0s");
    }

    @Test
    void percentagesAreWholeNumbers() {
        assertThat(Units.percent(0)).isEqualTo("0%");
        assertThat(Units.percent(42.4)).isEqualTo("42%");
        assertThat(Units.percent(99.6)).isEqualTo("100%");
        assertThat(Units.percent(-1)).isEqualTo("-");
        assertThat(Units.percent(Double.NaN)).isEqualTo("-");
    }

    @Test
    void numbersIgnoreTheUsersLocale() {
        Locale before = Locale.getDefault();
        try {
            Locale.setDefault(Locale.GERMANY);
            assertThat(Units.fixed(1.534, 2)).isEqualTo("1.53");
            assertThat(Units.bytes((long) (3.2 * G))).isEqualTo("3.2G");
        } finally {
            Locale.setDefault(before);
        }
    }

    @Test
    void fixedShowsUnknownForNonFiniteValues() {
        assertThat(Units.fixed(Double.NaN, 1)).isEqualTo("-");
        assertThat(Units.fixed(Double.POSITIVE_INFINITY, 1)).isEqualTo("-");
        assertThat(Units.fixed(3.25, 1)).isEqualTo("3.3");
        assertThat(Units.fixed(0.999, 2)).isEqualTo("1.00");
        assertThat(Units.fixed(12.05, 0)).isEqualTo("12");
        assertThat(Units.fixed(-1.25, 1)).isEqualTo("-1.3");
        assertThat(Units.fixed(-0.04, 1)).isEqualTo("0.0"); // no "-0.0"
        assertThat(Units.fixed(2850.345, 1)).isEqualTo("2850.3");
        assertThat(Units.fixed(3e13, 1)).isEqualTo("30000000000000.0");
    }
}
