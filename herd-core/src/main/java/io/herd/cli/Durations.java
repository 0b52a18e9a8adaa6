package io.herd.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations the way people type them: {@code 90s}, {@code 10m}, {@code 1h30m}, {@code 2d}. */
final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+)([smhd])");

    private Durations() {}

    static Duration parse(String text, String option) {
        String t = text.trim().toLowerCase();
        if (t.matches("\\d+")) t = t + "s";
        Matcher m = PART.matcher(t);
        Duration d = Duration.ZERO;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) break;
            long n = Long.parseLong(m.group(1));
            d = d.plus(switch (m.group(2)) {
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            });
            end = m.end();
        }
        if (end != t.length() || t.isEmpty() || d.isZero()) {
            throw new CliException("bad " + option + " '" + text + "': use a duration such as 90s, 10m, 1h or 2d", 2);
        }
        return d;
    }
}
