package io.herd.gossip;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import java.util.ArrayList;
import java.util.List;

/**
 * Wire encoding of gossip: {@link GossipMessage} to and from the protobuf
 * messages of {@code herd/gossip.proto}.
 *
 * <p>Decoding is the trust boundary. Peers are authenticated, but a buggy or
 * newer peer must not be able to poison the scheduler's view or the terminal
 * of someone running {@code herd nodes}, so every decoded vector is checked:
 * bounded size, known format version, short printable strings, finite
 * non-negative numbers. Anything else is an {@link IllegalArgumentException}
 * whose message says what was wrong; no protobuf exception escapes.
 *
 * <p>The same checks run before encoding, so a node never sends what its
 * peers would reject.
 */
public final class LoadVectorCodec {

    /** Wire format written and accepted. See gossip.proto on when to bump it. */
    public static final int FORMAT_VERSION = 1;

    /** Largest message accepted or produced; checked before parsing, so oversized input costs nothing. */
    public static final int MAX_MESSAGE_BYTES = 16 * 1024;

    /** Node names are certificate CNs and DNS labels: 63 characters at most. */
    public static final int MAX_NODE_NAME_CHARS = 63;

    /** Cap for the other strings (address, sandbox, version). */
    public static final int MAX_STRING_CHARS = 64;

    /**
     * Upper bound of {@link #encodedSize} for any vector that passes
     * validation: every string at its cap in 3-byte UTF-8 characters, every
     * number at its widest varint. Computed rather than hand-counted so it
     * stays true when fields are added.
     */
    public static final int MAX_ENTRY_BYTES = encodedSize(worstCaseVector());

    /**
     * Bytes of a message besides its entries, at worst: format version, a
     * maximal sender name, and the tag and length of the packed age list.
     */
    public static final int MAX_HEADER_BYTES = io.herd.gossip.proto.GossipMessage.newBuilder()
            .setFormatVersion(Integer.MAX_VALUE)
            .setSender("\u20ac".repeat(MAX_NODE_NAME_CHARS))
            .build().getSerializedSize()
            + CodedOutputStream.computeTagSize(io.herd.gossip.proto.GossipMessage.AGE_MILLIS_FIELD_NUMBER)
            + CodedOutputStream.computeUInt32SizeNoTag(MAX_MESSAGE_BYTES)
            + CodedOutputStream.computeUInt32Size(io.herd.gossip.proto.GossipMessage.NEWS_COUNT_FIELD_NUMBER,
                    Integer.MAX_VALUE);

    private LoadVectorCodec() {
    }

    /**
     * Encodes a message.
     *
     * @throws IllegalArgumentException if a vector fails validation or the
     *                                  result would exceed {@link #MAX_MESSAGE_BYTES}
     */
    public static byte[] encode(GossipMessage message) {
        List<io.herd.gossip.proto.LoadVector> entries = new ArrayList<>(message.items().size());
        int[] ages = new int[message.items().size()];
        for (int i = 0; i < ages.length; i++) {
            GossipMessage.Item item = message.items().get(i);
            validate(item.vector());
            entries.add(toProto(item.vector()));
            ages[i] = (int) item.ageMillis(); // <= Integer.MAX_VALUE by Item's contract
        }
        return encodeWire(message.sender(), entries, ages, message.newsCount());
    }

    /**
     * The one place messages are assembled. The engine calls it directly: it
     * holds only vectors validated when published or decoded, and keeps the
     * wire form of those it sends often, so neither is redone per send.
     */
    static byte[] encodeWire(String sender, List<io.herd.gossip.proto.LoadVector> entries, int[] ages,
                             int newsCount) {
        checkName("sender", sender);
        if (entries.isEmpty() || newsCount < 1 || !sender.equals(entries.get(0).getNode())) {
            throw new IllegalArgumentException("a gossip message starts with its sender's own vector, as news");
        }
        var b = io.herd.gossip.proto.GossipMessage.newBuilder()
                .setFormatVersion(FORMAT_VERSION)
                .setSender(sender)
                .addAllEntries(entries)
                .setNewsCount(newsCount);
        for (int age : ages) b.addAgeMillis(age);
        var proto = b.build();
        int size = proto.getSerializedSize();
        if (size > MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("gossip message of " + size + " bytes exceeds the "
                    + MAX_MESSAGE_BYTES + "-byte limit; send fewer entries");
        }
        return proto.toByteArray();
    }

    /**
     * Decodes and validates a message.
     *
     * @throws IllegalArgumentException if the bytes are oversized, not a
     *                                  gossip message, of an unknown format
     *                                  version, or carry an invalid vector
     */
    public static GossipMessage decode(byte[] bytes) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("empty gossip message");
        }
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("gossip message of " + bytes.length + " bytes exceeds the "
                    + MAX_MESSAGE_BYTES + "-byte limit; dropped");
        }
        io.herd.gossip.proto.GossipMessage proto;
        try {
            proto = io.herd.gossip.proto.GossipMessage.parseFrom(bytes);
        } catch (InvalidProtocolBufferException | RuntimeException e) {
            // RuntimeException too: a malformed buffer must never surface as anything but IAE.
            throw new IllegalArgumentException("not a gossip message (" + bytes.length + " bytes): "
                    + e.getMessage(), e);
        }
        if (proto.getFormatVersion() != FORMAT_VERSION) {
            throw new IllegalArgumentException("gossip format version "
                    + Integer.toUnsignedString(proto.getFormatVersion()) + " from '" + printable(proto.getSender())
                    + "' is not supported (this node speaks " + FORMAT_VERSION
                    + "); run the same herd version on all nodes, upgrading the older ones");
        }
        checkName("sender", proto.getSender());
        if (proto.getAgeMillisCount() != proto.getEntriesCount()) {
            throw new IllegalArgumentException("gossip message from '" + proto.getSender() + "' has "
                    + proto.getEntriesCount() + " entries but " + proto.getAgeMillisCount() + " ages");
        }
        if (Integer.toUnsignedLong(proto.getNewsCount()) > proto.getEntriesCount()) {
            throw new IllegalArgumentException("gossip message from '" + proto.getSender() + "' claims "
                    + Integer.toUnsignedString(proto.getNewsCount()) + " news entries but has "
                    + proto.getEntriesCount());
        }
        // Every message opens with the sender's own vector, flagged as news. Besides
        // catching a peer that mislabels itself, this makes any truncation detectable:
        // protobuf writes fields in number order, so a cut before the entries loses
        // them, and one before news_count zeroes it.
        if (proto.getEntriesCount() == 0 || proto.getNewsCount() == 0
                || !proto.getSender().equals(proto.getEntries(0).getNode())) {
            throw new IllegalArgumentException("gossip message from '" + printable(proto.getSender())
                    + "' does not open with the sender's own vector (truncated or malformed)");
        }
        List<GossipMessage.Item> items = new ArrayList<>(proto.getEntriesCount());
        for (int i = 0; i < proto.getEntriesCount(); i++) {
            LoadVector v = fromProto(proto.getEntries(i));
            try {
                validate(v);
            } catch (IllegalArgumentException ex) {
                throw new IllegalArgumentException("invalid entry from '" + proto.getSender() + "': "
                        + ex.getMessage(), ex);
            }
            long age = Integer.toUnsignedLong(proto.getAgeMillis(i));
            items.add(new GossipMessage.Item(v, Math.min(age, GossipMessage.MAX_AGE_MILLIS), i < proto.getNewsCount()));
        }
        return new GossipMessage(proto.getSender(), items);
    }

    /**
     * Most bytes one vector adds to a gossip message: its framing and body
     * plus its age at the widest. The unit of the traffic bound in
     * {@link GossipEngine}.
     */
    public static int encodedSize(LoadVector v) {
        int body = toProto(v).getSerializedSize();
        return CodedOutputStream.computeTagSize(io.herd.gossip.proto.GossipMessage.ENTRIES_FIELD_NUMBER)
                + CodedOutputStream.computeUInt32SizeNoTag(body) + body
                + CodedOutputStream.computeUInt32SizeNoTag((int) GossipMessage.MAX_AGE_MILLIS);
    }

    /**
     * Checks a vector against the rules decoding enforces.
     *
     * @throws IllegalArgumentException naming the first offending field
     */
    static void validate(LoadVector v) {
        if (v == null) throw new IllegalArgumentException("null load vector");
        checkName("node", v.node());
        checkString("address", v.address());
        checkString("sandbox", v.sandbox());
        checkString("version", v.version());
        String node = v.node();
        nonNegative(node, "incarnation", v.incarnation());
        nonNegative(node, "seq", v.seq());
        nonNegative(node, "cores", v.cores());
        nonNegative(node, "memTotalBytes", v.memTotalBytes());
        nonNegative(node, "memFreeBytes", v.memFreeBytes());
        nonNegative(node, "swapTotalBytes", v.swapTotalBytes());
        nonNegative(node, "swapFreeBytes", v.swapFreeBytes());
        nonNegative(node, "guestSlots", v.guestSlots());
        nonNegative(node, "guestJobs", v.guestJobs());
        if (v.ownerIdleSeconds() < -1) {
            throw new IllegalArgumentException(node + ": ownerIdleSeconds " + v.ownerIdleSeconds()
                    + " is neither -1 (unknown) nor a duration");
        }
        finiteNonNegative(node, "speed", v.speed());
        finiteNonNegative(node, "load1", v.load1());
        finiteNonNegative(node, "cpuPercent", v.cpuPercent());
        finiteNonNegative(node, "guestCpus", v.guestCpus());
        checkLabels(node, v.labels());
        checkGuests(node, v.guests());
        if (v.cpuPercent() > 100.0) {
            throw new IllegalArgumentException(node + ": cpuPercent " + v.cpuPercent() + " exceeds 100");
        }
    }

    static io.herd.gossip.proto.LoadVector toProto(LoadVector v) {
        return io.herd.gossip.proto.LoadVector.newBuilder()
                .setNode(v.node())
                .setAddress(nullToEmpty(v.address()))
                .setIncarnation(v.incarnation())
                .setSeq(v.seq())
                .setCores(v.cores())
                .setSpeed(v.speed())
                .setLoad1(v.load1())
                .setCpuPercent(v.cpuPercent())
                .setMemTotalBytes(v.memTotalBytes())
                .setMemFreeBytes(v.memFreeBytes())
                .setSwapTotalBytes(v.swapTotalBytes())
                .setSwapFreeBytes(v.swapFreeBytes())
                .setOwnerIdleSeconds(v.ownerIdleSeconds())
                .setOwnerPresent(v.ownerPresent())
                .setGuestSlots(v.guestSlots())
                .setGuestJobs(v.guestJobs())
                .setSandbox(nullToEmpty(v.sandbox()))
                .setVersion(nullToEmpty(v.version()))
                .setLeaving(v.leaving())
                .addAllLabels(v.labels())
                .setGuestCpus(v.guestCpus())
                .setGuests(GuestAccess.WORDS.indexOf(v.guests().closed()))
                .setGuestsReason(v.guests().reason())
                .setPolicyStamp(v.guests().policyStamp())
                .setOwnerMemReserveMib((int) ((v.guests().ownerMemReserveBytes() + (1 << 20) - 1) >>> 20))
                .build();
    }

    private static LoadVector fromProto(io.herd.gossip.proto.LoadVector p) {
        return new LoadVector(p.getNode(), p.getAddress(), p.getIncarnation(), p.getSeq(), p.getCores(),
                p.getSpeed(), p.getLoad1(), p.getCpuPercent(), p.getMemTotalBytes(), p.getMemFreeBytes(),
                p.getSwapTotalBytes(), p.getSwapFreeBytes(), p.getOwnerIdleSeconds(), p.getOwnerPresent(),
                p.getGuestSlots(), p.getGuestJobs(), p.getSandbox(), p.getVersion(), p.getLeaving(), p.getLabelsList(),
                p.getGuestCpus(), new GuestAccess(guestsWord(p.getGuests()), p.getGuestsReason(), p.getPolicyStamp(),
                        Integer.toUnsignedLong(p.getOwnerMemReserveMib()) << 20));
    }

    private static LoadVector worstCaseVector() {
        // U+20AC takes 3 bytes in UTF-8, the most per Java char (surrogate pairs take 4 per 2 chars).
        String name = "\u20ac".repeat(MAX_NODE_NAME_CHARS);
        String s = "\u20ac".repeat(MAX_STRING_CHARS);
        long big = Long.MAX_VALUE;
        int bigInt = Integer.MAX_VALUE;
        return new LoadVector(name, s, big, big, bigInt, Double.MAX_VALUE, Double.MAX_VALUE, 100.0,
                big, big, big, big, big, true, bigInt, bigInt, s, s, true, worstCaseLabels(),
                io.herd.policy.Policy.MAX_GUEST_CPUS, new GuestAccess("never",
                "z".repeat(GuestAccess.MAX_REASON_CHARS), GuestAccess.MAX_POLICY_STAMP, GuestAccess.MAX_RESERVE_BYTES));
    }

    /** As many labels as a node may carry, each as long as allowed and distinct. */
    static List<String> worstCaseLabels() {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < io.herd.policy.Labels.MAX_LABELS; i++) {
            labels.add(i + "z".repeat(io.herd.policy.Labels.MAX_CHARS - Integer.toString(i).length()));
        }
        return labels;
    }

    /** A known kind, a short ASCII reason and a 31-bit stamp: each kept small, as every entry carries them. */
    private static void checkGuests(String node, GuestAccess g) {
        if (!GuestAccess.WORDS.contains(g.closed())) {
            throw new IllegalArgumentException(node + ": guests '" + printable(g.closed()) + "' is not one of "
                    + GuestAccess.WORDS);
        }
        String r = g.reason();
        if (r.length() > GuestAccess.MAX_REASON_CHARS) {
            throw new IllegalArgumentException(node + ": guests reason has " + r.length() + " characters; at most "
                    + GuestAccess.MAX_REASON_CHARS + " allowed");
        }
        for (int i = 0; i < r.length(); i++) {
            if (r.charAt(i) < 0x20 || r.charAt(i) >= 0x7f) {
                throw new IllegalArgumentException(node + ": guests reason '" + printable(r)
                        + "' is not printable ASCII");
            }
        }
        if (g.policyStamp() < 0 || g.policyStamp() > GuestAccess.MAX_POLICY_STAMP) {
            throw new IllegalArgumentException(node + ": policy stamp " + g.policyStamp() + " is outside 0.."
                    + GuestAccess.MAX_POLICY_STAMP);
        }
    }

    /** The kind a wire code names: one this node does not know (a newer peer's) counts as not accepting. */
    private static String guestsWord(int code) {
        return code >= 0 && code < GuestAccess.WORDS.size() ? GuestAccess.WORDS.get(code) : "never";
    }

    /** Labels as {@code herd label add} allows them: the scheduler matches them, terminals print them. */
    private static void checkLabels(String node, List<String> labels) {
        if (labels.size() > io.herd.policy.Labels.MAX_LABELS) {
            throw new IllegalArgumentException(node + ": " + labels.size() + " labels; at most "
                    + io.herd.policy.Labels.MAX_LABELS + " allowed");
        }
        for (String l : labels) {
            if (!io.herd.policy.Labels.valid(l)) {
                throw new IllegalArgumentException(node + ": label '" + printable(l) + "' is not "
                        + io.herd.policy.Labels.RULE);
            }
        }
    }

    private static void checkName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(what + " name is empty");
        }
        if (name.length() > MAX_NODE_NAME_CHARS) {
            throw new IllegalArgumentException(what + " name '" + printable(name.substring(0, 20))
                    + "...' has " + name.length() + " characters; at most " + MAX_NODE_NAME_CHARS + " allowed");
        }
        checkPrintable(what + " name", name);
    }

    private static void checkString(String field, String s) {
        if (s == null) return;
        if (s.length() > MAX_STRING_CHARS) {
            throw new IllegalArgumentException(field + " has " + s.length() + " characters; at most "
                    + MAX_STRING_CHARS + " allowed");
        }
        checkPrintable(field, s);
    }

    /** Control characters would let a peer drive the terminal of whoever lists the nodes. */
    private static void checkPrintable(String field, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                throw new IllegalArgumentException(field + " '" + printable(s) + "' contains control character U+"
                        + String.format("%04X", (int) s.charAt(i)));
            }
        }
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 64));
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(Character.isISOControl(c) ? '?' : c);
        }
        return b.toString();
    }

    private static void nonNegative(String node, String field, long value) {
        if (value < 0) {
            throw new IllegalArgumentException(node + ": " + field + " " + value + " is negative");
        }
    }

    private static void finiteNonNegative(String node, String field, double value) {
        if (!Double.isFinite(value) || value < 0) {
            throw new IllegalArgumentException(node + ": " + field + " " + value + " is not a finite non-negative number");
        }
    }

    private static String nullToEmpty(String s) {
        return s == null ? "" : s;
    }
}
