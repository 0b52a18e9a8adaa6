package io.herd.owner;

import java.util.List;

/** What the owner watch acts on: this node's guest jobs (the host side implements it). */
public interface Guests {

    /** Stops every guest at once (cgroup freezer, else SIGSTOP of its tree); returns the jobs frozen. */
    List<String> freezeAll(String reason);

    /** Lets every frozen guest run again; returns the jobs thawed. */
    List<String> thawAll(String reason);

    /** Kills every guest and reports it to its home for placing elsewhere; returns the jobs evicted. */
    List<String> evictAll(String reason);

    /** Whether any guest runs (or is being started) here: with none, the watch has nothing to freeze and polls slowly. */
    default boolean any() {
        return true;
    }
}
