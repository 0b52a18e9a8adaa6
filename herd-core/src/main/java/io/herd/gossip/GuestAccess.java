package io.herd.gossip;

/**
 * Whether a node takes guests now, as its load vector carries it: the owner's
 * policy and lock decided on the node ({@code io.herd.policy.Admission}), so
 * homes skip a node that would refuse every guest anyway.
 *
 * @param closed      "" when guests are welcome, else the reason's kind, one of {@link #WORDS}:
 *                    {@code locked}, {@code idle-wait}, {@code window} or {@code never}
 * @param reason      short and stable ("next opens Mon 19:00"); "" when accepting; printable
 *                    ASCII of at most {@value #MAX_REASON_CHARS} characters (see {@link #brief})
 * @param policyStamp changes whenever the node's policy changes, and at each start; 0 = unknown
 * @param ownerMemReserveBytes memory the owner's policy keeps from guests ({@code owner-mem-reserve}),
 *                    rounded up to whole MiB on the wire; 0 = none said (placement keeps its own 5%)
 */
public record GuestAccess(String closed, String reason, long policyStamp, long ownerMemReserveBytes) {

    /** The kinds, in the order of their wire codes: "" (accepting) is 0. */
    public static final java.util.List<String> WORDS = java.util.List.of("", "locked", "idle-wait", "window", "never");
    /** Longest reason: every entry of every gossip message carries it. */
    public static final int MAX_REASON_CHARS = 24;
    /** Largest policy stamp: 31 bits, at most 5 bytes on the wire. */
    public static final long MAX_POLICY_STAMP = Integer.MAX_VALUE;

    /** Accepting, stamp unknown: what a vector from an older peer means. */
    public static final GuestAccess OPEN = new GuestAccess("", "", 0);
    /** Largest reserve the wire carries: 2^32 - 1 MiB. */
    public static final long MAX_RESERVE_BYTES = 0xFFFF_FFFFL << 20;

    public GuestAccess {
        closed = closed == null ? "" : closed;
        reason = reason == null ? "" : reason;
        ownerMemReserveBytes = Math.max(0, Math.min(ownerMemReserveBytes, MAX_RESERVE_BYTES));
    }

    /** Access that says nothing of the owner's memory reserve. */
    public GuestAccess(String closed, String reason, long policyStamp) {
        this(closed, reason, policyStamp, 0);
    }

    /**
     * A reason as gossip may carry it: other than printable ASCII becomes '?', and a longer one
     * is cut to {@value #MAX_REASON_CHARS} characters ending in "...".
     */
    public static String brief(String reason) {
        StringBuilder b = new StringBuilder(Math.min(reason.length(), MAX_REASON_CHARS));
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.length() <= MAX_REASON_CHARS ? b.toString() : b.substring(0, MAX_REASON_CHARS - 3) + "...";
    }

    /** True when guests are welcome. */
    public boolean accepting() {
        return closed.isEmpty();
    }
}
