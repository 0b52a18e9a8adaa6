package io.herd.gossip;

import java.util.List;
import java.util.Objects;

/**
 * One gossip message as the engine sees it: who sent it and the vectors it
 * carries, each with its age. The wire form, with its format version, is
 * {@link LoadVectorCodec}'s business.
 *
 * @param sender node name of the sender
 * @param items  vectors carried: news first, starting with the sender's own
 *               vector (the codec requires it), then changes the sender
 *               spreads, youngest first; then refresh
 */
public record GossipMessage(String sender, List<Item> items) {

    /**
     * One vector and how old it is.
     *
     * @param vector    a node's load vector
     * @param ageMillis how long ago its node published it, as far as the
     *                  sender knows: a duration, so it needs no clock
     *                  agreement between nodes; 0..{@link #MAX_AGE_MILLIS}
     * @param news      the sender spreads it as news (receivers that had not
     *                  heard it spread it too); otherwise it is a refresh,
     *                  which only updates what the receiver holds
     */
    public record Item(LoadVector vector, long ageMillis, boolean news) {
        public Item {
            Objects.requireNonNull(vector, "vector");
            if (ageMillis < 0) throw new IllegalArgumentException("negative age " + ageMillis);
            ageMillis = Math.min(ageMillis, MAX_AGE_MILLIS);
        }
    }

    /** Ages saturate here (about 24 days); anything that old is simply "old". */
    public static final long MAX_AGE_MILLIS = Integer.MAX_VALUE;

    public GossipMessage {
        Objects.requireNonNull(sender, "sender");
        items = List.copyOf(items);
        // The wire form counts news items instead of flagging each one.
        boolean refreshSeen = false;
        for (Item item : items) {
            if (item.news() && refreshSeen) {
                throw new IllegalArgumentException("news items must precede refresh items");
            }
            refreshSeen |= !item.news();
        }
    }

    /** How many leading items are news. */
    public int newsCount() {
        int n = 0;
        while (n < items.size() && items.get(n).news()) n++;
        return n;
    }

    /** The vectors alone, in message order. */
    public List<LoadVector> vectors() {
        return items.stream().map(Item::vector).toList();
    }
}
