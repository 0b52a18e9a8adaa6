package io.herd.policy;

import java.time.DayOfWeek;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Weekly time windows in the node's local wall-clock time, as the owner
 * writes them for {@code herd policy set accept windows "SPEC"}:
 * <pre>
 *   Mon-Fri 19:00-08:00; Sat-Sun
 * </pre>
 * SPEC is one or more windows separated by {@code ;}. A window is DAYS,
 * optionally followed by a time range {@code HH:MM-HH:MM}:
 * <ul>
 * <li>DAYS is a day ({@code Mon}), a range ({@code Mon-Fri}; ranges may wrap,
 *     {@code Fri-Mon} is Fri, Sat, Sun, Mon), a comma list ({@code Mon,Wed,Fri})
 *     of either, or {@code daily};</li>
 * <li>without a time range the window is the whole of each day;</li>
 * <li>a range whose end is not after its start crosses midnight: it opens on
 *     the listed day and closes the next morning, so {@code Fri 19:00-08:00}
 *     runs from Friday evening to Saturday 08:00. {@code 24:00} is the end of
 *     the day.</li>
 * </ul>
 * Membership is decided on the local wall-clock time, so a window means the
 * same hours on the days clocks change (a window opening in the hour that a
 * spring-forward skips opens at the first wall time after it).
 */
public final class Windows {

    /** An example for error messages. */
    public static final String EXAMPLE = "\"Mon-Fri 19:00-08:00; Sat-Sun\"";

    private static final Pattern TIME_RANGE = Pattern.compile("(\\d{1,2}):(\\d{2})-(\\d{1,2}):(\\d{2})");
    private static final LocalTime END_OF_DAY = LocalTime.MAX;

    /**
     * One window: the days it opens on and its hours.
     *
     * @param days  days on which it opens
     * @param start opening time
     * @param end   closing time; {@link LocalTime#MAX} is the end of the day (written 24:00)
     * @param text  the window as written (normalised)
     */
    record Window(Set<DayOfWeek> days, LocalTime start, LocalTime end, String text) {
        boolean crossesMidnight() {
            return !end.isAfter(start);
        }

        boolean contains(LocalDateTime t) {
            LocalTime time = t.toLocalTime();
            DayOfWeek day = t.getDayOfWeek();
            if (!crossesMidnight()) {
                return days.contains(day) && !time.isBefore(start) && (end == END_OF_DAY || time.isBefore(end));
            }
            return (days.contains(day) && !time.isBefore(start))
                    || (days.contains(day.minus(1)) && time.isBefore(end));
        }
    }

    private final List<Window> windows;

    private Windows(List<Window> windows) {
        this.windows = List.copyOf(windows);
    }

    /**
     * Parses a SPEC (surrounding quotes are dropped).
     *
     * @throws IllegalArgumentException saying what is wrong, with an example
     */
    public static Windows parse(String spec) {
        String s = spec == null ? "" : spec.strip();
        if (s.length() >= 2 && (s.startsWith("\"") && s.endsWith("\"") || s.startsWith("'") && s.endsWith("'"))) {
            s = s.substring(1, s.length() - 1).strip();
        }
        if (s.isEmpty()) throw bad("no window given");
        List<Window> out = new ArrayList<>();
        for (String part : s.split(";", -1)) {
            String w = part.strip();
            if (w.isEmpty()) {
                throw bad("an empty window in '" + s + "' (two ';' in a row, or one at the end)");
            }
            out.add(window(w));
        }
        if (out.size() > 32) throw bad("at most 32 windows, not " + out.size());
        return new Windows(out);
    }

    private static Window window(String w) {
        String[] words = w.split("\\s+");
        if (words.length > 2) {
            throw bad("'" + w + "' should be DAYS or DAYS HH:MM-HH:MM (separate windows with ';')");
        }
        Set<DayOfWeek> days = days(words[0]);
        LocalTime start = LocalTime.MIDNIGHT;
        LocalTime end = END_OF_DAY;
        if (words.length == 2) {
            Matcher m = TIME_RANGE.matcher(words[1]);
            if (!m.matches()) throw bad("'" + words[1] + "' is not a time range such as 19:00-08:00");
            start = time(m.group(1), m.group(2), false, words[1]);
            end = time(m.group(3), m.group(4), true, words[1]);
            if (start.equals(end)) {
                throw bad("'" + words[1] + "' opens and closes at the same time; for whole days leave the hours out");
            }
        }
        return new Window(days, start, end, formatDays(days) + (words.length == 2 ? " " + formatTime(start) + "-"
                + formatTime(end) : ""));
    }

    private static LocalTime time(String hh, String mm, boolean isEnd, String range) {
        int h = Integer.parseInt(hh);
        int m = Integer.parseInt(mm);
        if (isEnd && h == 24 && m == 0) return END_OF_DAY;
        if (h > 23 || m > 59) {
            throw bad("'" + hh + ":" + mm + "' in '" + range + "' is not a time of day (00:00 to 23:59, or 24:00 as an end)");
        }
        return LocalTime.of(h, m);
    }

    private static Set<DayOfWeek> days(String text) {
        String t = text.toLowerCase(Locale.ROOT);
        if (t.equals("daily")) return EnumSet.allOf(DayOfWeek.class);
        Set<DayOfWeek> days = EnumSet.noneOf(DayOfWeek.class);
        for (String item : t.split(",", -1)) {
            String[] ends = item.split("-", -1);
            if (ends.length > 2 || item.isEmpty()) {
                throw bad("'" + text + "' is not a day, a range of days (Mon-Fri) or a list (Mon,Wed)");
            }
            DayOfWeek from = day(ends[0], text);
            DayOfWeek to = ends.length == 2 ? day(ends[1], text) : from;
            for (DayOfWeek d = from; ; d = d.plus(1)) {
                days.add(d);
                if (d == to) break;
            }
        }
        return days;
    }

    private static DayOfWeek day(String word, String context) {
        for (DayOfWeek d : DayOfWeek.values()) {
            String full = d.getDisplayName(TextStyle.FULL, Locale.ENGLISH).toLowerCase(Locale.ROOT);
            if (word.equals(full) || word.equals(full.substring(0, 3))) return d;
        }
        throw bad("'" + word + "'" + (word.equals(context.toLowerCase(Locale.ROOT)) ? "" : " in '" + context + "'")
                + " is not a day; use Mon Tue Wed Thu Fri Sat Sun (or daily)");
    }

    private static IllegalArgumentException bad(String what) {
        return new IllegalArgumentException("accept windows: " + what + "; e.g. accept windows " + EXAMPLE);
    }

    /** True when {@code t} (local wall-clock time) is inside a window. */
    public boolean contains(LocalDateTime t) {
        for (Window w : windows) if (w.contains(t)) return true;
        return false;
    }

    /**
     * When the windows next open after {@code t}, if they are closed at {@code t}: the earliest
     * opening time after it. Empty when they are open at {@code t}.
     */
    public Optional<LocalDateTime> nextOpen(LocalDateTime t) {
        if (contains(t)) return Optional.empty();
        LocalDateTime best = null;
        LocalDate today = t.toLocalDate();
        for (int i = 0; i <= 7; i++) {
            LocalDate d = today.plusDays(i);
            for (Window w : windows) {
                if (!w.days.contains(d.getDayOfWeek())) continue;
                LocalDateTime open = d.atTime(w.start);
                if (open.isAfter(t) && (best == null || open.isBefore(best))) best = open;
            }
            if (best != null) break;
        }
        return Optional.ofNullable(best);
    }

    /**
     * When the windows next close after {@code t}, if they are open at {@code t}; empty when
     * they are closed at {@code t} or never close (every day, all day).
     */
    public Optional<LocalDateTime> nextClose(LocalDateTime t) {
        if (!contains(t)) return Optional.empty();
        List<LocalDateTime> ends = new ArrayList<>();
        LocalDate today = t.toLocalDate();
        for (int i = -1; i <= 8; i++) {
            LocalDate d = today.plusDays(i);
            for (Window w : windows) {
                if (!w.days.contains(d.getDayOfWeek())) continue;
                LocalDateTime close = w.end == END_OF_DAY || w.crossesMidnight()
                        ? d.plusDays(1).atTime(w.end == END_OF_DAY ? LocalTime.MIDNIGHT : w.end)
                        : d.atTime(w.end);
                if (close.isAfter(t)) ends.add(close);
            }
        }
        ends.sort(null);
        for (LocalDateTime e : ends) if (!contains(e)) return Optional.of(e);
        return Optional.empty();
    }

    /** "Mon 19:00": a day and time for messages. */
    public static String format(LocalDateTime t) {
        return t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH) + " " + formatTime(t.toLocalTime());
    }

    private static String formatTime(LocalTime t) {
        return t == END_OF_DAY ? "24:00" : String.format("%02d:%02d", t.getHour(), t.getMinute());
    }

    private static String formatDays(Set<DayOfWeek> days) {
        if (days.size() == 7) return "daily";
        // Runs of consecutive days, written as ranges; a run may wrap from Sun to Mon.
        List<String> parts = new ArrayList<>();
        DayOfWeek[] all = DayOfWeek.values();
        int startAt = 0;
        while (days.contains(all[startAt]) && days.contains(all[(startAt + 6) % 7])) startAt++;
        int i = 0;
        while (i < 7) {
            DayOfWeek d = all[(startAt + i) % 7];
            if (!days.contains(d)) {
                i++;
                continue;
            }
            int j = i;
            while (j + 1 < 7 && days.contains(all[(startAt + j + 1) % 7])) j++;
            DayOfWeek last = all[(startAt + j) % 7];
            parts.add(j == i ? shortName(d) : shortName(d) + "-" + shortName(last));
            i = j + 1;
        }
        return String.join(",", parts);
    }

    private static String shortName(DayOfWeek d) {
        return d.getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
    }

    /** The windows in their normal form, e.g. {@code Mon-Fri 19:00-08:00; Sat-Sun}; parses back to equal windows. */
    @Override
    public String toString() {
        List<String> parts = new ArrayList<>();
        for (Window w : windows) parts.add(w.text);
        return String.join("; ", parts);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Windows other && other.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }
}
