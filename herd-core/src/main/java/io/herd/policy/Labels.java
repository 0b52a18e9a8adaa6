package io.herd.policy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * A node's labels, set by its admin ({@code herd label add fast}) and matched
 * by {@code --on 'label==fast'}. Sorted, without duplicates, at most
 * {@link #MAX_LABELS}; each name is {@value #RULE}.
 *
 * <p>Kept in the data directory, one label a line ({@value #FILE}). The
 * limits keep a node's load vector small: labels travel in every gossip
 * message about the node.
 *
 * @param names the labels, sorted
 */
public record Labels(List<String> names) {

    /** File name in the data directory. */
    public static final String FILE = "labels.txt";
    /** Labels a node may carry. */
    public static final int MAX_LABELS = 8;
    /** Longest label. */
    public static final int MAX_CHARS = 32;
    /** The rule, as users are told it. */
    public static final String RULE = "1 to 32 of a-z 0-9 _ . - starting with a letter or digit";

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_.-]{0,31}");

    /** No labels. */
    public static final Labels NONE = new Labels(List.of());

    public Labels {
        TreeSet<String> sorted = new TreeSet<>();
        for (String n : names) sorted.add(check(n));
        if (sorted.size() > MAX_LABELS) {
            throw new IllegalArgumentException("a node carries at most " + MAX_LABELS + " labels, not " + sorted.size()
                    + "; remove some with `herd label rm NAME`");
        }
        names = List.copyOf(sorted);
    }

    /** True when {@code name} is a valid label. */
    public static boolean valid(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /**
     * Returns {@code name} if valid.
     *
     * @throws IllegalArgumentException saying what labels may be
     */
    public static String check(String name) {
        if (!valid(name)) {
            String shown = name == null ? "" : name.length() > 40 ? name.substring(0, 40) + "..." : name;
            shown = shown.replaceAll("\\p{Cntrl}", "?");
            throw new IllegalArgumentException("invalid label '" + shown + "': a label is " + RULE
                    + ", e.g. fast or gpu.a100");
        }
        return name;
    }

    /** These labels and {@code more}; all of {@code more} are checked before anything changes. */
    public Labels plus(Collection<String> more) {
        List<String> all = new ArrayList<>(names);
        for (String n : more) all.add(check(n));
        return new Labels(all);
    }

    /** These labels without {@code gone} (names not carried are ignored, invalid ones rejected). */
    public Labels minus(Collection<String> gone) {
        for (String n : gone) check(n);
        List<String> left = new ArrayList<>(names);
        left.removeAll(gone);
        return new Labels(left);
    }

    public boolean contains(String name) {
        return names.contains(name);
    }

    /**
     * Reads the labels file; a missing file is {@link #NONE}.
     *
     * @throws IllegalArgumentException when the file holds an invalid label (naming the file)
     */
    public static Labels load(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return NONE;
        }
        List<String> names = new ArrayList<>();
        for (String l : lines) {
            String t = l.strip();
            if (!t.isEmpty() && !t.startsWith("#")) names.add(t);
        }
        try {
            return new Labels(names);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage() + "; fix or delete the file", e);
        }
    }

    /** Replaces the labels file atomically. */
    public void save(Path file) throws IOException {
        StringBuilder b = new StringBuilder("# herd node labels (herd label add/rm); one a line\n");
        for (String n : names) b.append(n).append('\n');
        AtomicFiles.write(file, b.toString());
    }

    @Override
    public String toString() {
        return String.join(",", names);
    }
}
