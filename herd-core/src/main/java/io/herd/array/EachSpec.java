package io.herd.array;

import java.io.IOException;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The items of {@code --each SPEC}:
 * <ul>
 *   <li>{@code A..B}: the integers A to B inclusive, A ≤ B (negative numbers allowed); when an end
 *       is written with leading zeros ({@code 001..120}) every item is zero-padded to that width;</li>
 *   <li>{@code @FILE}: one item per line of FILE (relative to the working directory), blank lines
 *       skipped, a trailing CR removed;</li>
 *   <li>{@code a,b,c}: the listed words (a single word is a list of one).</li>
 * </ul>
 * At most {@value #MAX_ITEMS} items. Errors are {@link BadSpec}s whose message says what was wrong
 * and which forms are accepted.
 */
public final class EachSpec {

    /** More jobs than this in one array is almost surely a mistake (and one huge transaction). */
    public static final int MAX_ITEMS = 100_000;

    static final String FORMS = "use a range A..B (e.g. 1..100), @FILE (one item per line) or a list a,b,c";

    private static final Pattern RANGE = Pattern.compile("(-?\\d{1,18})\\.\\.(-?\\d{1,18})");

    /** A SPEC that cannot be used; the message is one line for the user. */
    public static final class BadSpec extends IllegalArgumentException {
        BadSpec(String spec, String why) {
            super("bad --each '" + spec + "': " + why + "; " + FORMS);
        }
    }

    private EachSpec() {}

    /** The items of {@code spec}, in order; {@code cwd} resolves a relative {@code @FILE}. */
    public static List<String> parse(String spec, Path cwd) {
        if (spec == null || spec.isBlank()) throw new BadSpec(String.valueOf(spec), "it is empty");
        if (spec.startsWith("@")) return file(spec, cwd);
        if (spec.contains(",")) return list(spec);
        if (spec.contains("..")) return range(spec);
        return List.of(spec);
    }

    private static List<String> range(String spec) {
        Matcher m = RANGE.matcher(spec);
        if (!m.matches()) throw new BadSpec(spec, "a range needs two integers around '..'");
        long from = Long.parseLong(m.group(1));
        long to = Long.parseLong(m.group(2));
        if (from > to) throw new BadSpec(spec, "the range goes down; write the smaller number first (" + to + ".." + from + ")");
        if (to - from + 1 > MAX_ITEMS || to - from + 1 <= 0) {
            throw new BadSpec(spec, "that is more than " + MAX_ITEMS + " jobs; split it into several arrays");
        }
        int width = Math.max(padWidth(m.group(1)), padWidth(m.group(2)));
        List<String> out = new ArrayList<>((int) (to - from + 1));
        for (long i = from; i <= to; i++) {
            String s = Long.toString(i);
            if (width > 0 && i >= 0 && s.length() < width) s = "0".repeat(width - s.length()) + s;
            out.add(s);
        }
        return out;
    }

    /** The width to pad to when a non-negative end has leading zeros ("007"), else 0. */
    private static int padWidth(String end) {
        return end.length() > 1 && end.startsWith("0") ? end.length() : 0;
    }

    private static List<String> list(String spec) {
        List<String> out = new ArrayList<>();
        for (String item : spec.split(",", -1)) {
            if (item.isEmpty()) throw new BadSpec(spec, "the list has an empty item");
            out.add(item);
        }
        if (out.size() > MAX_ITEMS) throw new BadSpec(spec, "that is more than " + MAX_ITEMS + " jobs; split it into several arrays");
        return out;
    }

    private static List<String> file(String spec, Path cwd) {
        String name = spec.substring(1);
        if (name.isBlank()) throw new BadSpec(spec, "no file name after '@'");
        Path p = cwd.resolve(name);
        List<String> lines;
        try {
            lines = Files.readAllLines(p, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new BadSpec(spec, "no such file " + p);
        } catch (MalformedInputException e) {
            throw new BadSpec(spec, p + " is not UTF-8 text");
        } catch (IOException e) {
            throw new BadSpec(spec, "cannot read " + p + " (" + e.getMessage() + ")");
        }
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            String item = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line;
            if (item.isBlank()) continue;
            out.add(item);
            if (out.size() > MAX_ITEMS) throw new BadSpec(spec, p + " has more than " + MAX_ITEMS + " items; split it into several arrays");
        }
        if (out.isEmpty()) throw new BadSpec(spec, p + " has no items (it is empty or only blank lines)");
        return out;
    }
}
