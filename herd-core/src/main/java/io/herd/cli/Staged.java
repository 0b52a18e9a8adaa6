package io.herd.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Which files a job takes with it, chosen where the user is (so with the user's eyes and
 * permissions): every argument of the command that names an existing file or directory under
 * the current directory (also {@code --opt=FILE}), plus what the {@code -i} globs match.
 * Paths are sent relative to the current directory; the daemon snapshots them.
 */
final class Staged {
    /**
     * Marks an input that is staged only when it exists: an argument holding an array
     * placeholder, known only after substitution. Understood by the home node's staging.
     */
    static final String OPTIONAL = "?";

    private Staged() {}

    static boolean hasPlaceholder(String s) {
        return s.contains("{}") || s.contains("{#}");
    }

    static List<String> inputs(Path cwd, List<String> command, List<String> globs) {
        Set<String> out = new LinkedHashSet<>();
        for (String arg : command) {
            int eq = arg.indexOf('=');
            String value = arg.startsWith("-") && eq > 0 ? arg.substring(eq + 1) : arg;
            if (hasPlaceholder(value)) {
                // An array item's file: the daemon stages it, after substitution, if it exists.
                if (!value.startsWith("-") && !value.startsWith("/") && !List.of(value.split("/")).contains("..")) out.add(OPTIONAL + value);
                continue;
            }
            named(cwd, arg).ifPresent(out::add);
            if (value != arg) named(cwd, value).ifPresent(out::add);
        }
        for (String g : globs) {
            checkGlob(g, "-i");
            if (hasPlaceholder(g)) {
                if (hasMeta(g.replace("{}", "").replace("{#}", ""))) {
                    throw new CliException("-i '" + g + "': with {} or {#} a pattern names one file per item; it cannot also hold"
                            + " wildcards (give the files with a second -i)", 2);
                }
                out.add(g);
                continue;
            }
            List<String> matched = expand(cwd, g);
            if (matched.isEmpty()) {
                throw new CliException("-i '" + g + "': no file matches under " + cwd + "; check the pattern (it is relative to this directory)", 2);
            }
            out.addAll(matched);
        }
        return new ArrayList<>(out);
    }

    /** The argument as a path relative to cwd, when it names an existing file or directory strictly under cwd. */
    private static java.util.Optional<String> named(Path cwd, String arg) {
        if (arg.isEmpty() || arg.startsWith("-") || arg.indexOf('\0') >= 0) return java.util.Optional.empty();
        try {
            Path p = cwd.resolve(arg).normalize();
            if (!p.startsWith(cwd) || p.equals(cwd) || !Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return java.util.Optional.empty();
            return java.util.Optional.of(slashed(cwd.relativize(p)));
        } catch (InvalidPathException e) {
            return java.util.Optional.empty();
        }
    }

    static String checkGlob(String g, String option) {
        if (g.isBlank() || g.startsWith("/") || List.of(g.split("/")).contains("..")) {
            throw new CliException(option + " '" + g + "': give a pattern relative to this directory, without '..' (e.g. 'out/*.png')", 2);
        }
        return g;
    }

    /** Files under cwd matching the glob; walks only below its literal leading directories, and only as deep as it needs. */
    static List<String> expand(Path cwd, String glob) {
        String[] parts = glob.split("/");
        int literal = 0;
        while (literal < parts.length - 1 && !hasMeta(parts[literal])) literal++;
        Path base = cwd;
        for (int i = 0; i < literal; i++) base = base.resolve(parts[i]);
        if (!Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) return List.of();
        boolean deep = glob.contains("**");
        int depth = deep ? Integer.MAX_VALUE : parts.length - literal;
        PathMatcher m = FileSystems.getDefault().getPathMatcher("glob:" + glob);
        List<String> out = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(base, depth)) {
            walk.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(p))
                    .map(p -> cwd.relativize(p))
                    .filter(m::matches)
                    .map(Staged::slashed)
                    .sorted()
                    .forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static boolean hasMeta(String part) {
        return part.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    private static String slashed(Path rel) {
        StringBuilder sb = new StringBuilder();
        for (Path part : rel) {
            if (sb.length() > 0) sb.append('/');
            sb.append(part);
        }
        return sb.toString();
    }
}
