package io.herd.policy;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Objects;

/**
 * Does this node take guests now, and this guest in particular? Pure: the
 * policy, the owner's lock, the owner's activity and the time come in; a
 * decision with a reason for people comes out. The host asks it for every
 * offer and every start, and the node gossips {@link #decide}'s answer so
 * homes do not even offer a job to a node that is not accepting.
 *
 * <h2>Accepting guests at all ({@link #decide})</h2>
 * In order: a lock wins ({@code locked}); then the policy's {@code accept}:
 * {@code always} (yes), {@code never}, {@code when-idle D} (yes once the
 * owner has given no input for D; otherwise {@code idle-wait}), or
 * {@code windows} (yes inside them, in the node's local time; otherwise
 * {@code window}).
 *
 * <p>Owner idle time unknown (-1: no seat, no logind, no input device or tty
 * the daemon may read) counts as idle: that is a server or a headless box
 * with nobody to disturb, and refusing there would make {@code when-idle}
 * mean {@code never} on exactly the machines most worth borrowing.
 *
 * <h2>This guest ({@link #refuseGuest})</h2>
 * The user and the job's home node against the allow and deny lists (an
 * empty allow list allows everyone; deny wins), and the job's memory against
 * {@code guest-mem-max}. These are fixed for a given policy, unlike the
 * accept rule, so a home that was refused for one of them need not ask again
 * until the policy changes.
 *
 * <p>Both apply to guests only: the owner's own jobs on their own node are
 * never refused by them (the host decides who is a guest).
 */
public final class Admission {

    /** The node's state for guests, as {@code herd nodes} shows it in its GUESTS column. */
    public enum State {
        /** Guests welcome. */
        YES("yes"),
        /** The owner ran {@code herd lock}. */
        LOCKED("locked"),
        /** {@code accept when-idle}: the owner was active too recently. */
        IDLE_WAIT("idle-wait"),
        /** {@code accept windows}: outside them. */
        WINDOW("window"),
        /** {@code accept never}. */
        NEVER("never");

        private final String word;

        State(String word) {
            this.word = word;
        }

        /** The word {@code herd nodes} shows and gossip carries. */
        public String word() {
            return word;
        }

        /** The state a gossiped word names; an unknown word (a newer peer) is {@link #NEVER}-like: closed. */
        public static State of(String word) {
            if (word == null || word.isEmpty() || word.equals("yes")) return YES;
            for (State s : values()) if (s.word.equals(word)) return s;
            return NEVER;
        }
    }

    /**
     * Whether guests are welcome now.
     *
     * @param state  {@link State#YES} or why not
     * @param reason one line for people: "locked by the owner (backup running)",
     *               "outside the owner's windows (next opens Mon 19:00)",
     *               "owner active 2 min ago; accepts after 10 min idle"; "" when accepting
     * @param brief  the gist, for gossip next to the state's word: it changes only when the
     *               decision's grounds change (no minute counts): "next opens Mon 19:00",
     *               "after 10 min idle", the lock's reason; "" when there is nothing to add
     */
    public record Decision(State state, String reason, String brief) {
        public static final Decision ACCEPTING = new Decision(State.YES, "", "");

        public Decision {
            Objects.requireNonNull(state, "state");
            reason = reason == null ? "" : reason;
            brief = brief == null ? "" : brief;
        }

        public boolean accepting() {
            return state == State.YES;
        }
    }

    private Admission() {
    }

    /**
     * Whether this node takes guests now.
     *
     * @param policy the owner's policy
     * @param lock   the owner's lock
     * @param ownerIdleSeconds seconds since the owner's last input ({@code OwnerActivity.idleSeconds()}); -1 = unknown
     * @param now    the time now
     * @param zone   the node's time zone, in which the windows are written
     */
    public static Decision decide(Policy policy, OwnerLock lock, long ownerIdleSeconds, Instant now, ZoneId zone) {
        if (lock.locked()) {
            String why = lock.reason().isEmpty() ? "" : " (" + lock.reason() + ")";
            return new Decision(State.LOCKED, "locked by the owner" + why, lock.reason());
        }
        AcceptRule rule = policy.accept();
        if (rule instanceof AcceptRule.Always) return Decision.ACCEPTING;
        if (rule instanceof AcceptRule.Never) {
            return new Decision(State.NEVER, "the owner accepts no guests (accept never)", "");
        }
        if (rule instanceof AcceptRule.WhenIdle idle) {
            long needed = idle.idle().getSeconds();
            long idleSeconds = ownerIdleSeconds;
            if (idleSeconds < 0 || idleSeconds >= needed) return Decision.ACCEPTING;
            String after = "after " + human(Duration.ofSeconds(needed)) + " idle";
            return new Decision(State.IDLE_WAIT, "owner active " + ago(idleSeconds) + "; accepts " + after, after);
        }
        AcceptRule.InWindows w = (AcceptRule.InWindows) rule;
        LocalDateTime local = LocalDateTime.ofInstant(now, zone);
        if (w.windows().contains(local)) return Decision.ACCEPTING;
        String next = w.windows().nextOpen(local).map(t -> "next opens " + Windows.format(t)).orElse("never opens");
        return new Decision(State.WINDOW, "outside the owner's windows (" + next + ")", next);
    }

    /**
     * Why this node will not take this guest whatever the time, or null if the lists and
     * limits allow it.
     *
     * @param user     the job's user
     * @param homeNode the job's home node, as its certificate names it (null: unknown)
     * @param memBytes memory the job asked for ({@code --mem}); 0 = did not say
     */
    public static String refuseGuest(Policy policy, String user, String homeNode, long memBytes) {
        if (policy.denyUsers().contains(user)) return "the owner does not accept guests of user " + user + " (deny-users)";
        if (!policy.allowUsers().isEmpty() && !policy.allowUsers().contains(user)) {
            return "the owner accepts guests only of " + list(policy.allowUsers()) + " (allow-users), not of " + user;
        }
        if (homeNode != null && policy.denyNodes().contains(homeNode)) {
            return "the owner does not accept guests from node " + homeNode + " (deny-nodes)";
        }
        if (!policy.allowNodes().isEmpty() && (homeNode == null || !policy.allowNodes().contains(homeNode))) {
            return "the owner accepts guests only from " + list(policy.allowNodes()) + " (allow-nodes), not from "
                    + (homeNode == null ? "an unknown node" : homeNode);
        }
        if (policy.guestMemMax() > 0 && memBytes > policy.guestMemMax()) {
            return "the job asks for " + Policy.formatSize(memBytes) + " of memory and the owner lets a guest have at most "
                    + Policy.formatSize(policy.guestMemMax()) + " (guest-mem-max); ask for less with --mem";
        }
        return null;
    }

    private static String list(List<String> names) {
        return names.size() <= 5 ? String.join(", ", names)
                : String.join(", ", names.subList(0, 5)) + " and " + (names.size() - 5) + " more";
    }

    /** "just now", "45 s ago", "2 min ago", "3 h ago". */
    private static String ago(long seconds) {
        if (seconds < 5) return "just now";
        if (seconds < 60) return seconds + " s ago";
        if (seconds < 3600) return (seconds / 60) + " min ago";
        return (seconds / 3600) + " h ago";
    }

    /** "10 min", "90 s", "1 h 30 min". */
    private static String human(Duration d) {
        long s = d.getSeconds();
        if (s < 60) return s + " s";
        if (s % 60 != 0) return AcceptRule.formatDuration(d);
        long min = s / 60;
        if (min < 60) return min + " min";
        return min % 60 == 0 ? (min / 60) + " h" : (min / 60) + " h " + (min % 60) + " min";
    }
}
