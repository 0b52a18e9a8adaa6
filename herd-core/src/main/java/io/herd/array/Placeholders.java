package io.herd.array;

import java.util.ArrayList;
import java.util.List;

/**
 * GNU parallel's replacement strings: {@code {}} is the item, {@code {#}} the job's 1-based number
 * in its array. Replaced in one left-to-right pass, so an item that itself contains {@code {}} or
 * {@code {#}} is inserted literally, never expanded again. As in GNU parallel, a command with no
 * placeholder in any word gets the item appended as its last argument.
 */
public final class Placeholders {

    private Placeholders() {}

    /** True if the word holds {@code {}} or {@code {#}}. */
    public static boolean has(String word) {
        return word.contains("{}") || word.contains("{#}");
    }

    /** The word with every {@code {}} replaced by {@code item} and every {@code {#}} by {@code number}. */
    public static String substitute(String word, String item, int number) {
        if (!has(word)) return word;
        StringBuilder b = new StringBuilder(word.length() + item.length());
        int i = 0;
        while (i < word.length()) {
            if (word.startsWith("{}", i)) {
                b.append(item);
                i += 2;
            } else if (word.startsWith("{#}", i)) {
                b.append(number);
                i += 3;
            } else {
                b.append(word.charAt(i++));
            }
        }
        return b.toString();
    }

    /** Every word substituted. */
    public static List<String> substitute(List<String> words, String item, int number) {
        List<String> out = new ArrayList<>(words.size());
        for (String w : words) out.add(substitute(w, item, number));
        return out;
    }

    /** The command of job {@code number} (1-based): substituted, or with the item appended if it has no placeholder. */
    public static List<String> command(List<String> argv, String item, int number) {
        if (argv.stream().noneMatch(Placeholders::has)) {
            List<String> out = new ArrayList<>(argv);
            out.add(item);
            return out;
        }
        return substitute(argv, item, number);
    }
}
