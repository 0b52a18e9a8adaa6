package io.herd.scheduler;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Numbers as users write and read them: sizes with binary suffixes, short decimals. */
final class Units {

    private static final Pattern NUMBER =
            Pattern.compile("([+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+))(?:([KMGTkmgt])(?:i?B)?)?");
    private static final String SUFFIXES = "KMGT";

    private Units() {
    }

    /** The value of a number such as {@code 4}, {@code 1.5}, {@code 512M}, {@code 8G} or {@code 2GiB}; null if it is not one. */
    static Double parseNumber(String s) {
        if (s == null) return null;
        Matcher m = NUMBER.matcher(s);
        if (!m.matches()) return null;
        double v = Double.parseDouble(m.group(1));
        if (m.group(2) != null) {
            int power = SUFFIXES.indexOf(Character.toUpperCase(m.group(2).charAt(0))) + 1;
            v *= Math.pow(1024, power);
        }
        return v;
    }

    /** Bytes with one decimal and a binary suffix: {@code 8.0G}, {@code 256.0M}, {@code 512B}. */
    static String size(double bytes) {
        if (Math.abs(bytes) < 1024) return String.format(Locale.ROOT, "%.0fB", bytes);
        double v = bytes;
        int i = -1;
        while (Math.abs(v) >= 1024 && i < SUFFIXES.length() - 1) {
            v /= 1024;
            i++;
        }
        return String.format(Locale.ROOT, "%.1f%c", v, SUFFIXES.charAt(i));
    }

    /** A short decimal: {@code 4}, {@code 1.5}, {@code 0.33}. */
    static String decimal(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        String s = String.format(Locale.ROOT, "%.2f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }
}
