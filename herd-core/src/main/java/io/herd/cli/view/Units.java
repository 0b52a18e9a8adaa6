package io.herd.cli.view;

import java.util.Locale;

/**
 * Human formatting shared by the views. Everything is formatted with
 * {@link Locale#ROOT} so that {@code herd nodes} prints {@code 1.5}, never
 * {@code 1,5}, whatever the user's locale: the output is also read by scripts.
 */
public final class Units {

    /** Shown for a value the node did not (or could not) report. */
    public static final String UNKNOWN = "-";

    private static final String BYTE_UNITS = "BKMGTPE";

    private Units() {
    }

    /**
     * Bytes in binary units: {@code 0B}, {@code 512K}, {@code 512M}, {@code 3.2G}, {@code 1.0T}.
     * Below a gibibyte a decimal adds noise, from a gibibyte up it is the
     * difference between 1G and 2G of free memory, so G and larger keep one.
     * Negative means unknown and prints {@value #UNKNOWN}.
     */
    public static String bytes(long bytes) {
        if (bytes < 0) {
            return UNKNOWN;
        }
        if (bytes < 1024) {
            return bytes + "B";
        }
        double value = bytes;
        int unit = 0;
        while (unit < BYTE_UNITS.length() - 1) {
            value /= 1024;
            unit++;
            // Pick the unit where the *rounded* value is still below 1024, so
            // 1023.97G is printed as 1.0T and not as 1024.0G.
            double shown = unit >= 3 ? Math.round(value * 10) / 10.0 : Math.round(value);
            if (shown < 1024) {
                break;
            }
        }
        return (unit >= 3 ? fixed(value, 1) : Long.toString(Math.round(value))) + BYTE_UNITS.charAt(unit);
    }

    /**
     * A duration in whole seconds as its two largest units, rounded down:
     * {@code 0s}, {@code 42s}, {@code 7m}, {@code 3h12m}, {@code 3h}, {@code 2d4h}.
     * Negative (the records use -1) means unknown and prints {@value #UNKNOWN}.
     */
    public static String duration(long seconds) {
        if (seconds < 0) {
            return UNKNOWN;
        }
        if (seconds < 60) {
            return seconds + "s";
        }
        long minutes = seconds / 60;
        if (minutes < 60) {
            return minutes + "m";
        }
        long hours = minutes / 60;
        if (hours < 24) {
            return hours + "h" + nonZero(minutes % 60, "m");
        }
        return hours / 24 + "d" + nonZero(hours % 24, "h");
    }

    /** {@link #duration(long)} for fractional seconds (rounded down); negative or NaN is unknown. */
    public static String duration(double seconds) {
        if (!(seconds >= 0)) {
            return UNKNOWN;
        }
        return duration((long) Math.min(seconds, Long.MAX_VALUE));
    }

    /**
     * A percentage given on the 0..100 scale, rounded to a whole number: {@code 42%}.
     * Negative or NaN is unknown.
     */
    public static String percent(double percent) {
        if (!(percent >= 0)) {
            return UNKNOWN;
        }
        return Math.round(percent) + "%";
    }

    /** {@code value} with exactly {@code decimals} decimals; NaN or infinite is unknown. */
    public static String fixed(double value, int decimals) {
        if (Double.isNaN(value) || Double.isInfinite(value)) {
            return UNKNOWN;
        }
        if (decimals < 0 || decimals > 6 || Math.abs(value) >= 1e12) {
            return String.format(Locale.ROOT, "%." + Math.max(0, decimals) + "f", value);
        }
        // By hand rather than String.format: a live view formats hundreds of these a second.
        long scale = POW10[decimals];
        long scaled = Math.round(Math.abs(value) * scale);
        StringBuilder out = new StringBuilder(24);
        if (value < 0 && scaled != 0) {
            out.append('-');
        }
        out.append(scaled / scale);
        if (decimals > 0) {
            String fraction = Long.toString(scaled % scale);
            out.append('.').append("0".repeat(decimals - fraction.length())).append(fraction);
        }
        return out.toString();
    }

    private static final long[] POW10 = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000};

    private static String nonZero(long value, String unit) {
        return value == 0 ? "" : value + unit;
    }
}
