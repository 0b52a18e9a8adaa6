package io.herd.scheduler;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The outcome of ranking one job over the known hosts.
 *
 * @param ranked   feasible hosts, best first (the home node offers to them in this order)
 * @param rejected every other host, by name, with the first feasibility filter it failed
 */
public record Plan(List<Candidate> ranked, Map<String, String> rejected) {

    public Plan {
        ranked = List.copyOf(ranked);
        SortedMap<String, String> sorted = new TreeMap<>(rejected);
        rejected = Collections.unmodifiableSortedMap(sorted);
    }

    /** The best host, if any can run the job now. */
    public Optional<Candidate> best() {
        return ranked.isEmpty() ? Optional.empty() : Optional.of(ranked.get(0));
    }
}
