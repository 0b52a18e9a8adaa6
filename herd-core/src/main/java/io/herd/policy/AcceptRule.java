package io.herd.policy;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When this node takes guests at all: the policy key {@code accept}.
 * <pre>
 *   always                          (the default)
 *   when-idle 10m                   once the owner has been idle that long (30s, 10m, 1h, 1h30m)
 *   windows "Mon-Fri 19:00-08:00; Sat-Sun"    inside these weekly windows (see {@link Windows})
 *   never
 * </pre>
 * {@link Admission} turns a rule, the lock, the owner's activity and the time
 * into a yes or no.
 */
public sealed interface AcceptRule {

    /** Guests are welcome at any time. */
    record Always() implements AcceptRule {
        @Override
        public String toString() {
            return "always";
        }
    }

    /** Guests are welcome once the owner has given no input for {@code idle}. */
    record WhenIdle(Duration idle) implements AcceptRule {
        public WhenIdle {
            if (idle.compareTo(Duration.ofSeconds(1)) < 0 || idle.compareTo(MAX_IDLE) > 0) {
                throw new IllegalArgumentException("accept when-idle: the idle time must be from 1s to 7d");
            }
        }

        @Override
        public String toString() {
            return "when-idle " + formatDuration(idle);
        }
    }

    /** Guests are welcome inside the owner's weekly windows. */
    record InWindows(Windows windows) implements AcceptRule {
        @Override
        public String toString() {
            return "windows " + windows;
        }
    }

    /** This node takes no guests. */
    record Never() implements AcceptRule {
        @Override
        public String toString() {
            return "never";
        }
    }

    AcceptRule ALWAYS = new Always();
    AcceptRule NEVER = new Never();
    /** Longest idle time a rule may ask for. */
    Duration MAX_IDLE = Duration.ofDays(7);

    /** What {@code herd policy set accept} takes, for error messages. */
    String USAGE = "accept must be always, when-idle DURATION (e.g. when-idle 10m), windows \"SPEC\" "
            + "(e.g. windows " + Windows.EXAMPLE + ") or never";

    /**
     * Reads a rule as {@code herd policy set accept VALUE} takes it.
     *
     * @throws IllegalArgumentException what is wrong, with an example
     */
    static AcceptRule parse(String text) {
        String t = text == null ? "" : text.strip();
        String[] words = t.split("\\s+", 2);
        String head = words[0].toLowerCase(Locale.ROOT);
        String rest = words.length > 1 ? words[1].strip() : "";
        switch (head) {
            case "always", "never" -> {
                if (!rest.isEmpty()) throw new IllegalArgumentException("accept " + head + " takes nothing after it; not '" + t + "'");
                return head.equals("always") ? ALWAYS : NEVER;
            }
            case "when-idle" -> {
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException("accept when-idle needs the idle time, e.g. accept when-idle 10m");
                }
                return new WhenIdle(parseDuration(rest));
            }
            case "windows" -> {
                return new InWindows(Windows.parse(rest));
            }
            default -> throw new IllegalArgumentException(USAGE + "; not '" + t + "'");
        }
    }

    /** {@code 30s}, {@code 10m}, {@code 2h}, {@code 1h30m}, {@code 1d}: at least one number with its unit. */
    Pattern DURATION = Pattern.compile("(?:(\\d{1,6})d)?(?:(\\d{1,6})h)?(?:(\\d{1,6})m)?(?:(\\d{1,6})s)?");

    /**
     * A duration such as 10m, 90s, 1h30m or 1d, from 1s to 7d.
     *
     * @throws IllegalArgumentException naming the bad text and giving an example
     */
    static Duration parseDuration(String text) {
        String t = text.strip().toLowerCase(Locale.ROOT);
        Matcher m = DURATION.matcher(t);
        if (t.isEmpty() || !m.matches()) {
            throw new IllegalArgumentException("accept when-idle: '" + text.strip()
                    + "' is not a duration; write a number with a unit (s, m, h, d), e.g. when-idle 10m or when-idle 1h30m");
        }
        long seconds = 0;
        long[] unit = {86400, 3600, 60, 1};
        for (int i = 0; i < 4; i++) {
            if (m.group(i + 1) != null) seconds += Long.parseLong(m.group(i + 1)) * unit[i];
        }
        Duration d = Duration.ofSeconds(seconds);
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(MAX_IDLE) > 0) {
            throw new IllegalArgumentException("accept when-idle: " + text.strip()
                    + " is out of range; the idle time must be from 1s to 7d, e.g. when-idle 10m");
        }
        return d;
    }

    /** The shortest exact form: 10m, 1h30m, 90s → 1m30s. */
    static String formatDuration(Duration d) {
        long s = d.getSeconds();
        StringBuilder b = new StringBuilder();
        long[] unit = {86400, 3600, 60, 1};
        String[] name = {"d", "h", "m", "s"};
        for (int i = 0; i < 4; i++) {
            if (s >= unit[i]) {
                b.append(s / unit[i]).append(name[i]);
                s %= unit[i];
            }
        }
        return b.length() == 0 ? "0s" : b.toString();
    }
}
