package io.herd.journal;

import java.util.Arrays;
import java.util.Set;

/**
 * Which jobs {@link Journal#list} returns, newest first. Null / empty fields do not filter.
 * Build with {@link #all()} and the withers: {@code Filter.all().user("ann").states("queued", "running").limit(50)}.
 *
 * @param limit at most this many rows; 0 = no limit
 */
public record Filter(String user, Set<String> states, String arrayId, int limit) {

    public Filter {
        states = states == null ? Set.of() : Set.copyOf(states);
        for (String s : states) {
            if (!Transitions.STATES.contains(s)) {
                throw new IllegalArgumentException("unknown job state '" + s + "'; states are " + Transitions.STATES);
            }
        }
        if (limit < 0) throw new IllegalArgumentException("limit must not be negative, got " + limit);
    }

    public static Filter all() {
        return new Filter(null, Set.of(), null, 0);
    }

    public Filter user(String u) { return new Filter(u, states, arrayId, limit); }
    public Filter states(String... s) { return new Filter(user, Set.copyOf(Arrays.asList(s)), arrayId, limit); }
    public Filter states(Set<String> s) { return new Filter(user, s, arrayId, limit); }
    public Filter array(String id) { return new Filter(user, states, id, limit); }
    public Filter limit(int n) { return new Filter(user, states, arrayId, n); }
}
