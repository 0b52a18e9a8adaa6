package io.herd.security;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Node names: the CN and DNS SAN of a node's certificate and how peers and users refer to it.
 * One DNS label, so a name can also serve as a host name; case-insensitive, stored lower-case.
 */
public final class NodeNames {
    private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");

    private NodeNames() {}

    /** Whether {@code name}, once lower-cased, is a valid node name. */
    public static boolean isValid(String name) {
        return name != null && VALID.matcher(name.toLowerCase(Locale.ROOT)).matches();
    }

    /**
     * The lower-cased name.
     *
     * @throws IllegalArgumentException with a message for the user when the name is not valid
     */
    public static String normalize(String name) {
        if (!isValid(name)) {
            throw new IllegalArgumentException(problem(name));
        }
        return name.toLowerCase(Locale.ROOT);
    }

    static String problem(String name) {
        return "'" + name + "' is not a valid node name: use 1 to 63 letters, digits and '-',"
                + " starting with a letter or digit";
    }
}
