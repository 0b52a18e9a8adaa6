package io.herd.gossip;

/**
 * Whether the machine's owner is around, as far as the node can tell. Owner
 * policies ("lend only after 10 minutes without input") and placement read it.
 *
 * @param idleSeconds  seconds since the last keyboard, mouse or local
 *                     terminal input; -1 when no source could be read
 * @param ownerPresent someone is logged in locally (at a seat or a local
 *                     console), idle or not
 */
public record OwnerActivity(long idleSeconds, boolean ownerPresent) {

    /** Nothing readable: no logind, no device files we may stat. */
    public static final OwnerActivity UNKNOWN = new OwnerActivity(-1, false);

    public OwnerActivity {
        if (idleSeconds < -1) throw new IllegalArgumentException("idleSeconds must be -1 (unknown) or >= 0: " + idleSeconds);
    }
}
