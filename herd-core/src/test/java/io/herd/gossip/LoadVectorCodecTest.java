package io.herd.gossip;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LoadVectorCodecTest {

    static LoadVector realistic(String node, long seq) {
        return new LoadVector(node, "192.168.10.23:7443", 1_763_712_345_678L, seq, 16, 5.37, 3.42, 27.5,
                34_359_738_368L, 21_474_836_480L, 8_589_934_592L, 8_589_934_592L, 1234, true, 16, 3,
                "bwrap+cgroup2", "0.1.0-SNAPSHOT", false);
    }

    // --- round trip ----------------------------------------------------------

    @Property(tries = 300)
    void everyValidMessageSurvivesTheWire(@ForAll("messages") GossipMessage message) {
        GossipMessage back = LoadVectorCodec.decode(LoadVectorCodec.encode(message));
        assertThat(back).isEqualTo(message);
    }

    @Property(tries = 300)
    void encodedSizeBoundsWhatAnEntryAdds(@ForAll("vectors") LoadVector v) {
        LoadVector own = realistic("s", 1);
        int withOne = LoadVectorCodec.encode(message("s", own, v)).length;
        int alone = LoadVectorCodec.encode(message("s", own)).length;
        assertThat(withOne - alone).isLessThanOrEqualTo(LoadVectorCodec.encodedSize(v));
        assertThat(LoadVectorCodec.encodedSize(v)).isLessThanOrEqualTo(LoadVectorCodec.MAX_ENTRY_BYTES);
    }

    @Provide
    Arbitrary<LoadVector> vectors() {
        Arbitrary<String> names = Arbitraries.strings().withCharRange('a', 'z').numeric().withChars('-', '.')
                .ofMinLength(1).ofMaxLength(LoadVectorCodec.MAX_NODE_NAME_CHARS);
        // Printable text, including multi-byte UTF-8 (never a control character or a lone surrogate).
        Arbitrary<String> text = Arbitraries.strings().withCharRange(' ', '~').withCharRange('\u00a0', '\u024f')
                .withCharRange('\u4e00', '\u4fff').withChars('\u20ac').ofMaxLength(LoadVectorCodec.MAX_STRING_CHARS);
        Arbitrary<Long> counts = Arbitraries.longs().between(0, Long.MAX_VALUE);
        Arbitrary<Double> rates = Arbitraries.doubles().between(0, 1e6);
        var identity = Combinators.combine(names, text, counts, counts, Arbitraries.integers().between(0, 4096),
                rates, text, text).as(Identity::new);
        var load = Combinators.combine(rates, Arbitraries.doubles().between(0, 100), counts, counts, counts, counts,
                Arbitraries.longs().between(-1, Long.MAX_VALUE), Arbitraries.of(true, false)).as(Load::new);
        Arbitrary<String> label = Arbitraries.strings().withCharRange('a', 'z').numeric().withChars('_', '.', '-')
                .ofMinLength(1).ofMaxLength(io.herd.policy.Labels.MAX_CHARS).filter(io.herd.policy.Labels::valid);
        Arbitrary<Double> caps = Arbitraries.oneOf(Arbitraries.just(0.0), Arbitraries.doubles().between(0.01, 4096));
        var guests = Combinators.combine(Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.integers().greaterOrEqual(0), Arbitraries.of(true, false),
                label.list().uniqueElements().ofMaxSize(io.herd.policy.Labels.MAX_LABELS), caps).as(Guests::new);
        return Combinators.combine(identity, load, guests).as((i, l, g) -> new LoadVector(i.node, i.address,
                i.incarnation, i.seq, i.cores, i.speed, l.load1, l.cpu, l.memTotal, l.memFree, l.swapTotal,
                l.swapFree, l.idle, l.present, g.slots, g.jobs, i.sandbox, i.version, g.leaving,
                g.labels.stream().sorted().toList(), g.guestCpus));
    }

    @Provide
    Arbitrary<GossipMessage> messages() {
        return Combinators.combine(vectors().list().ofMaxSize(12), Arbitraries.integers().between(0, 12),
                        Arbitraries.longs().between(0, GossipMessage.MAX_AGE_MILLIS))
                .as((vs, news, age) -> {
                    List<GossipMessage.Item> items = new ArrayList<>();
                    LoadVector own = realistic("sender-1", age);
                    items.add(new GossipMessage.Item(own, 0, true));
                    for (int i = 0; i < vs.size(); i++) {
                        items.add(new GossipMessage.Item(vs.get(i), age + i, i < news));
                    }
                    return new GossipMessage("sender-1", items);
                });
    }

    record Identity(String node, String address, long incarnation, long seq, int cores, double speed,
                    String sandbox, String version) {
    }

    record Load(double load1, double cpu, long memTotal, long memFree, long swapTotal, long swapFree, long idle,
                boolean present) {
    }

    record Guests(int slots, int jobs, boolean leaving, List<String> labels, double guestCpus) {
    }

    // --- sizes ---------------------------------------------------------------

    @Test
    void aRealisticEntryIsSmall() {
        // A hostname, a LAN address, 16 cores, 32 GiB, swap, a day of seq numbers at 2/s.
        int size = LoadVectorCodec.encodedSize(realistic("ws-lab-042", 172_800));
        assertThat(size).isLessThanOrEqualTo(160);
        // A 30-character FQDN as node name costs its 20 extra bytes, no more.
        assertThat(LoadVectorCodec.encodedSize(realistic("ws-lab-042.physics.example.edu", 172_800)))
                .isEqualTo(size + 20);
    }

    @Test
    void theWorstCaseEntryIsTheBound() {
        String name = "\u20ac".repeat(LoadVectorCodec.MAX_NODE_NAME_CHARS);
        String s = "\u20ac".repeat(LoadVectorCodec.MAX_STRING_CHARS);
        LoadVector worst = new LoadVector(name, s, Long.MAX_VALUE, Long.MAX_VALUE, Integer.MAX_VALUE,
                Double.MAX_VALUE, Double.MAX_VALUE, 100, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE,
                Long.MAX_VALUE, Long.MAX_VALUE, true, Integer.MAX_VALUE, Integer.MAX_VALUE, s, s, true,
                maxLabels(), 4096, new GuestAccess("never",
                "z".repeat(GuestAccess.MAX_REASON_CHARS), GuestAccess.MAX_POLICY_STAMP, GuestAccess.MAX_RESERVE_BYTES));
        assertThat(LoadVectorCodec.encodedSize(worst)).isEqualTo(LoadVectorCodec.MAX_ENTRY_BYTES);
        // Labels, the guest CPU cap and the owner policy (with its memory reserve) leave room for the default window of 12.
        assertThat(GossipEngine.GossipConfig.MAX_WINDOW).isGreaterThanOrEqualTo(GossipEngine.GossipConfig.defaults().window());
        // The largest window of worst-case entries still fits one message.
        List<GossipMessage.Item> items = new ArrayList<>();
        for (int i = 0; i <= GossipEngine.GossipConfig.MAX_WINDOW; i++) {
            items.add(new GossipMessage.Item(worst, GossipMessage.MAX_AGE_MILLIS, i == 0));
        }
        assertThat(LoadVectorCodec.encode(new GossipMessage(name, items)).length)
                .isLessThanOrEqualTo(LoadVectorCodec.MAX_MESSAGE_BYTES);
    }

    private static List<String> maxLabels() {
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < io.herd.policy.Labels.MAX_LABELS; i++) {
            labels.add((char) ('a' + i) + "-".repeat(io.herd.policy.Labels.MAX_CHARS - 1));
        }
        return labels;
    }

    @Test
    void labelsAndTheGuestCpuCapTravelAndCostLittle() {
        LoadVector plain = realistic("ws-1", 7);
        LoadVector labelled = plain.withAdmin(List.of("fast", "gpu.a100"), 0.5);
        LoadVector back = LoadVectorCodec.decode(LoadVectorCodec.encode(message("ws-1", labelled))).items().get(0).vector();
        assertThat(back.labels()).containsExactly("fast", "gpu.a100");
        assertThat(back.guestCpus()).isEqualTo(0.5);
        assertThat(back).isEqualTo(labelled);
        // Two short labels and a cap: each label its characters plus 3 bytes (a two-byte tag, as field numbers
        // from 16 up take, and a length), the cap a tag and 8 bytes.
        assertThat(LoadVectorCodec.encodedSize(labelled) - LoadVectorCodec.encodedSize(plain)).isEqualTo(7 + 11 + 10);
    }

    @Test
    void aVectorFromAnOlderPeerHasNoLabelsAndNoCap() {
        // An older node does not send fields 20 and 21: proto3 reads them as empty and 0.
        byte[] wire = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("old")
                .addEntries(LoadVectorCodec.toProto(realistic("old", 1)).toBuilder().clearLabels().clearGuestCpus())
                .addAgeMillis(0).setNewsCount(1).build().toByteArray();
        LoadVector v = LoadVectorCodec.decode(wire).items().get(0).vector();
        assertThat(v.labels()).isEmpty();
        assertThat(v.guestCpus()).isZero();
    }

    @Test
    void whetherTheNodeTakesGuestsTravelsAndOlderPeersMeanYes() {
        LoadVector locked = realistic("ws-1", 7).withGuests(new GuestAccess("locked", "rendering until Friday", 123_456));
        for (String word : GuestAccess.WORDS) {
            LoadVector v = realistic("ws-1", 7).withGuests(new GuestAccess(word, "", 1));
            assertThat(LoadVectorCodec.decode(LoadVectorCodec.encode(message("ws-1", v))).items().get(0).vector()).isEqualTo(v);
        }
        LoadVector back = LoadVectorCodec.decode(LoadVectorCodec.encode(message("ws-1", locked))).items().get(0).vector();
        assertThat(back).isEqualTo(locked);
        assertThat(back.guests().accepting()).isFalse();
        LoadVector open = realistic("ws-1", 7).withGuests(new GuestAccess("", "", 123_456));
        // Accepting costs the stamp only: a two-byte tag and a 3-byte varint here.
        assertThat(LoadVectorCodec.encodedSize(open) - LoadVectorCodec.encodedSize(realistic("ws-1", 7))).isEqualTo(5);
        byte[] wire = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("old")
                .addEntries(LoadVectorCodec.toProto(realistic("old", 1)).toBuilder().clearGuests().clearGuestsReason()
                        .clearPolicyStamp()).addAgeMillis(0).setNewsCount(1).build().toByteArray();
        assertThat(LoadVectorCodec.decode(wire).items().get(0).vector().guests()).isEqualTo(GuestAccess.OPEN);
        assertThat(GuestAccess.OPEN.accepting()).isTrue();
        // A newer peer's kind this node does not know: not accepting.
        byte[] newer = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("new")
                .addEntries(LoadVectorCodec.toProto(realistic("new", 1)).toBuilder().setGuests(9)).addAgeMillis(0)
                .setNewsCount(1).build().toByteArray();
        assertThat(LoadVectorCodec.decode(newer).items().get(0).vector().guests().accepting()).isFalse();
        // What gossip carries of a reason: printable ASCII, cut short.
        assertThat(GuestAccess.brief("rendering until Friday, please")).isEqualTo("rendering until Frida...");
        assertThat(GuestAccess.brief("gr\u00fc\u00dfe")).isEqualTo("gr??e");
    }

    @Test
    void theOwnersMemoryReserveTravelsInWholeMebibytesRoundedUp() {
        LoadVector v = realistic("ws-1", 7).withGuests(new GuestAccess("", "", 5, 6L << 30));
        assertThat(LoadVectorCodec.decode(LoadVectorCodec.encode(message("ws-1", v))).items().get(0).vector()).isEqualTo(v);
        LoadVector odd = realistic("ws-1", 7).withGuests(new GuestAccess("", "", 5, (6L << 30) + 1));
        assertThat(LoadVectorCodec.decode(LoadVectorCodec.encode(message("ws-1", odd))).items().get(0).vector()
                .guests().ownerMemReserveBytes()).isEqualTo((6L << 30) + (1 << 20));
        // Older peers do not send it: no reserve said.
        assertThat(realistic("ws-1", 7).guests().ownerMemReserveBytes()).isZero();
        assertThat(new GuestAccess("", "", 1, -5).ownerMemReserveBytes()).isZero();
        assertThat(new GuestAccess("", "", 1, Long.MAX_VALUE).ownerMemReserveBytes()).isEqualTo(GuestAccess.MAX_RESERVE_BYTES);
    }

    @Test
    void guestFieldsAreCheckedOnDecode() {
        assertRejected(b -> b.setGuestsReason("x".repeat(25)), "at most 24");
        assertRejected(b -> b.setGuestsReason("next\u001b[2J"), "not printable ASCII");
        assertRejected(b -> b.setGuestsReason("gr\u00fc\u00dfe"), "not printable ASCII");
        assertRejected(b -> b.setPolicyStamp(1L << 40), "policy stamp");
        assertRejected(b -> b.setPolicyStamp(-1), "policy stamp");
    }

    @Test
    void labelsAndCapAreCheckedOnDecode() {
        assertRejected(b -> b.addLabels("Fast"), "label 'Fast'");
        assertRejected(b -> b.addLabels("x\u001b[2J"), "label");
        assertRejected(b -> b.addLabels("a".repeat(33)), "label");
        assertRejected(b -> {
            for (int i = 0; i <= io.herd.policy.Labels.MAX_LABELS; i++) b.addLabels("l" + i);
        }, "at most 8");
        assertRejected(b -> b.setGuestCpus(-0.5), "guestCpus");
        assertRejected(b -> b.setGuestCpus(Double.NaN), "guestCpus");
    }

    // --- rejection ------------------------------------------------------------

    @Property(tries = 2000)
    void randomBytesAreRejectedCleanly(@ForAll("garbage") byte[] garbage) {
        // Random bytes sometimes parse as protobuf; validation must then reject them.
        // Either way the only exception allowed out is IllegalArgumentException.
        try {
            GossipMessage m = LoadVectorCodec.decode(garbage);
            assertThat(m.items().get(0).vector().node()).isEqualTo(m.sender());
        } catch (IllegalArgumentException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        return Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(300);
    }

    @Test
    void garbageIsRejected() {
        byte[] junk = new byte[500];
        new SplittableRandom(1).nextBytes(junk);
        assertThatThrownBy(() -> LoadVectorCodec.decode(junk)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LoadVectorCodec.decode("GET / HTTP/1.1\r\n\r\n".getBytes()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LoadVectorCodec.decode(new byte[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> LoadVectorCodec.decode(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Property(tries = 200)
    void everyTruncationIsRejected(@ForAll @IntRange(min = 1, max = 10_000) int cut) {
        byte[] full = LoadVectorCodec.encode(message("node-a", realistic("node-a", 1), realistic("node-b", 9),
                realistic("node-c", 4)));
        byte[] truncated = Arrays.copyOf(full, cut % full.length);
        if (truncated.length == 0) return;
        assertThatThrownBy(() -> LoadVectorCodec.decode(truncated)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void oversizedInputIsRejectedBeforeParsing() {
        byte[] big = new byte[LoadVectorCodec.MAX_MESSAGE_BYTES + 1];
        assertThatThrownBy(() -> LoadVectorCodec.decode(big))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds");
    }

    @Test
    void tooManyEntriesCannotBeEncoded() {
        List<GossipMessage.Item> items = new ArrayList<>();
        for (int i = 0; i < 200; i++) items.add(new GossipMessage.Item(realistic(i == 0 ? "s" : "n" + i, i), 0, i == 0));
        assertThatThrownBy(() -> LoadVectorCodec.encode(new GossipMessage("s", items)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds");
    }

    @Test
    void anUnknownFormatVersionIsRejectedWithAHint() {
        byte[] v2 = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(2).setSender("newer").build()
                .toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(v2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("version 2")
                .hasMessageContaining("same herd version");
        byte[] none = io.herd.gossip.proto.GossipMessage.newBuilder().setSender("x").build().toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(none)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void agesMustMatchEntries() {
        byte[] wire = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("x")
                .addEntries(LoadVectorCodec.toProto(realistic("x", 1))).setNewsCount(1).build().toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(wire))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ages");
    }

    @Test
    void newsCountCannotExceedEntries() {
        byte[] wire = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("x")
                .addEntries(LoadVectorCodec.toProto(realistic("x", 1))).addAgeMillis(0).setNewsCount(2).build()
                .toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(wire)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aMessageMustOpenWithItsSendersOwnVector() {
        assertThatThrownBy(() -> LoadVectorCodec.encode(message("a", realistic("b", 1))))
                .isInstanceOf(IllegalArgumentException.class);
        byte[] impostor = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("a")
                .addEntries(LoadVectorCodec.toProto(realistic("b", 1))).addAgeMillis(0).setNewsCount(1).build()
                .toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(impostor))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("own vector");
    }

    @Test
    void stringsAreCappedOnDecode() {
        assertRejected(b -> b.setNode("n".repeat(64)), "at most 63");
        assertRejected(b -> b.setNode(""), "empty");
        assertRejected(b -> b.setAddress("a".repeat(65)), "at most 64");
        assertRejected(b -> b.setSandbox("s".repeat(65)), "at most 64");
        assertRejected(b -> b.setVersion("v".repeat(65)), "at most 64");
        // Terminal escapes would reach whoever lists the nodes.
        assertRejected(b -> b.setVersion("0.1\u001b[2J"), "control character");
    }

    @Test
    void numbersMustMakeSense() {
        assertRejected(b -> b.setSpeed(Double.NaN), "speed");
        assertRejected(b -> b.setLoad1(Double.POSITIVE_INFINITY), "load1");
        assertRejected(b -> b.setCpuPercent(100.5), "cpuPercent");
        assertRejected(b -> b.setCores(-1), "cores");
        assertRejected(b -> b.setMemFreeBytes(-5), "memFreeBytes");
        assertRejected(b -> b.setOwnerIdleSeconds(-2), "ownerIdleSeconds");
        assertRejected(b -> b.setSeq(-1), "seq");
    }

    @Test
    void encodingRefusesWhatPeersWouldReject() {
        LoadVector bad = realistic("n".repeat(70), 1);
        assertThatThrownBy(() -> LoadVectorCodec.encode(message("s", realistic("s", 1), bad)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nullStringsTravelAsEmpty() {
        LoadVector v = new LoadVector("s", null, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, -1, false, 0, 0, null, null, false);
        LoadVector back = LoadVectorCodec.decode(LoadVectorCodec.encode(message("s", v))).items().get(0).vector();
        assertThat(back.address()).isEmpty();
        assertThat(back.sandbox()).isEmpty();
    }

    private static void assertRejected(java.util.function.Consumer<io.herd.gossip.proto.LoadVector.Builder> edit,
                                       String messagePart) {
        var entry = LoadVectorCodec.toProto(realistic("good", 1)).toBuilder();
        edit.accept(entry);
        byte[] wire = io.herd.gossip.proto.GossipMessage.newBuilder().setFormatVersion(1).setSender("peer")
                .addEntries(LoadVectorCodec.toProto(realistic("peer", 1))).addAgeMillis(0)
                .addEntries(entry).addAgeMillis(10).setNewsCount(1).build().toByteArray();
        assertThatThrownBy(() -> LoadVectorCodec.decode(wire))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(messagePart);
    }

    static GossipMessage message(String sender, LoadVector... vectors) {
        List<GossipMessage.Item> items = new ArrayList<>();
        for (LoadVector v : vectors) items.add(new GossipMessage.Item(v, 0, true));
        return new GossipMessage(sender, items);
    }
}
