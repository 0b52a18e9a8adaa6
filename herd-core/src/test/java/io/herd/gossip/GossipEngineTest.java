package io.herd.gossip;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static io.herd.gossip.LoadVectorCodecTest.realistic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GossipEngineTest {

    private static final GossipEngine.GossipConfig CONFIG = new GossipEngine.GossipConfig(100, 2, 8);

    private static GossipEngine engine(String self) {
        return new GossipEngine(self, CONFIG, new SplittableRandom(42));
    }

    private static LoadVector vector(String node, long incarnation, long seq) {
        LoadVector r = realistic(node, seq);
        return new LoadVector(node, r.address(), incarnation, seq, r.cores(), r.speed(), r.load1(), r.cpuPercent(),
                r.memTotalBytes(), r.memFreeBytes(), r.swapTotalBytes(), r.swapFreeBytes(), r.ownerIdleSeconds(),
                r.ownerPresent(), r.guestSlots(), r.guestJobs(), r.sandbox(), r.version(), r.leaving());
    }

    /** A message from {@code sender} with its own vector and others, all news of the given age. */
    private static byte[] news(String sender, long ageMillis, LoadVector... others) {
        List<GossipMessage.Item> items = new ArrayList<>();
        items.add(new GossipMessage.Item(vector(sender, 1, 1), 0, true));
        for (LoadVector v : others) items.add(new GossipMessage.Item(v, ageMillis, true));
        return LoadVectorCodec.encode(new GossipMessage(sender, items));
    }

    private static byte[] refresh(String sender, LoadVector... others) {
        List<GossipMessage.Item> items = new ArrayList<>();
        items.add(new GossipMessage.Item(vector(sender, 1, 1), 0, true));
        for (LoadVector v : others) items.add(new GossipMessage.Item(v, 0, false));
        return LoadVectorCodec.encode(new GossipMessage(sender, items));
    }

    private static GossipMessage only(List<GossipEngine.Outgoing> out) {
        assertThat(out).hasSize(1);
        return LoadVectorCodec.decode(out.get(0).payload());
    }

    private static List<String> nodes(GossipMessage m, boolean news) {
        return m.items().stream().skip(1).filter(i -> i.news() == news).map(i -> i.vector().node()).toList();
    }

    // --- publishing and pacing ------------------------------------------------

    @Test
    void publishingNumbersTheVectors() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 7, 999), 0);
        e.publishLocal(vector("a", 7, 0), 10);
        assertThat(e.entry("a").orElseThrow().vector().seq()).isEqualTo(2);
        assertThat(e.view()).containsOnlyKeys("a");
        assertThatThrownBy(() -> e.publishLocal(vector("b", 1, 1), 0)).isInstanceOf(IllegalArgumentException.class);
        String tooLong = "a".repeat(64);
        assertThatThrownBy(() -> engine(tooLong).publishLocal(realistic(tooLong, 1), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 63");
    }

    @Test
    void nothingIsSentBeforePublishingOrBeforeThePeriod() {
        GossipEngine e = engine("a");
        assertThat(e.tick(0, List.of("b", "c"))).isEmpty();
        e.publishLocal(vector("a", 1, 1), 0);
        assertThat(e.tick(1_000, List.of("b", "c"))).hasSize(2);
        assertThat(e.tick(1_001, List.of("b", "c"))).isEmpty();
        assertThat(e.tick(1_099, List.of("b", "c"))).isEmpty();
        assertThat(e.tick(1_100, List.of("b", "c"))).hasSize(2);
        assertThat(e.messagesSent()).isEqualTo(4);
    }

    @Test
    void aLateTimerNeitherLosesRoundsNorBursts() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        List<String> peers = List.of("b");
        assertThat(e.tick(0, peers)).hasSize(1);
        assertThat(e.tick(130, peers)).hasSize(1); // 30 ms late: the next round is still due at 200
        assertThat(e.tick(199, peers)).isEmpty();
        assertThat(e.tick(200, peers)).hasSize(1);
        // Paused for a second: one round, not ten.
        assertThat(e.tick(1_200, peers)).hasSize(1);
        assertThat(e.tick(1_250, peers)).isEmpty();
    }

    @Test
    void peersAreDistinctAndNeverSelf() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 50; i++) many.add("n" + i);
        many.add("a");
        for (int t = 0; t < 200; t++) {
            List<String> to = e.tick(t * 100L, many).stream().map(GossipEngine.Outgoing::destination).toList();
            assertThat(to).hasSize(2).doesNotHaveDuplicates().doesNotContain("a");
        }
        assertThat(e.tick(100_000, Set.of("a", "b"))).extracting(GossipEngine.Outgoing::destination)
                .containsExactly("b");
        assertThat(e.tick(200_000, List.of("a"))).isEmpty();
        assertThat(e.tick(300_000, List.of("b", "b", "b"))).hasSize(1);
    }

    // --- merging ----------------------------------------------------------------

    @Test
    void everyFieldSurvivesTheEngineIncludingWhetherTheNodeTakesGuests() {
        GossipEngine e = engine("a");
        LoadVector x = vector("x", 5, 10).withAdmin(List.of("fast"), 0.5)
                .withGuests(new GuestAccess("locked", "backup running", 77));
        e.receive(news("b", 0, x), 0);
        assertThat(e.entry("x").orElseThrow().vector()).isEqualTo(x);
    }

    @Test
    void theNewerVectorWins() {
        GossipEngine e = engine("a");
        e.receive(news("b", 0, vector("x", 5, 10)), 0);
        e.receive(news("c", 0, vector("x", 5, 3)), 10);
        assertThat(e.entry("x").orElseThrow().vector().seq()).isEqualTo(10);
        assertThat(e.entry("x").orElseThrow().learnedAtMillis()).isZero();
        e.receive(news("c", 0, vector("x", 5, 11)), 20);
        assertThat(e.entry("x").orElseThrow().vector().seq()).isEqualTo(11);
        assertThat(e.entry("x").orElseThrow().learnedAtMillis()).isEqualTo(20);
    }

    @Test
    void aNewIncarnationBeatsAnyOldSeq() {
        GossipEngine e = engine("a");
        e.receive(news("b", 0, vector("x", 100, 9_999)), 0);
        e.receive(news("b", 0, vector("x", 200, 1)), 10);
        assertThat(e.entry("x").orElseThrow().vector().incarnation()).isEqualTo(200);
        e.receive(news("b", 0, vector("x", 100, 10_000)), 20);
        assertThat(e.entry("x").orElseThrow().vector().incarnation()).isEqualTo(200);
    }

    @Test
    void theAgeOfInformationIsCarriedAlong() {
        GossipEngine e = engine("a");
        e.receive(news("b", 700, vector("x", 1, 1)), 10_000);
        assertThat(e.entry("x").orElseThrow().publishedAtMillis()).isEqualTo(9_300);
        assertThat(e.entry("b").orElseThrow().publishedAtMillis()).isEqualTo(10_000);
        // Passed on 200 ms later, it is 900 ms old.
        e.publishLocal(vector("a", 1, 1), 10_000);
        GossipMessage m = only(e.tick(10_200, List.of("z")));
        assertThat(m.items()).filteredOn(i -> i.vector().node().equals("x"))
                .singleElement().extracting(GossipMessage.Item::ageMillis).isEqualTo(900L);
    }

    @Test
    void gossipAboutSelfIsIgnoredAndConflictsCounted() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 50, 0), 0);
        e.receive(news("b", 0, vector("a", 50, 1)), 0); // our own, as it is: fine
        e.receive(news("b", 0, vector("a", 40, 9)), 0); // an older life of ours
        assertThat(e.selfConflicts()).isZero();
        e.receive(news("b", 0, vector("a", 60, 1)), 0); // someone else claims our name
        assertThat(e.selfConflicts()).isEqualTo(1);
        assertThat(e.entry("a").orElseThrow().vector().incarnation()).isEqualTo(50);
    }

    @Test
    void aBadPayloadMergesNothing() {
        GossipEngine e = engine("a");
        assertThatThrownBy(() -> e.receive(new byte[]{1, 2, 3}, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(e.bytesReceived()).isEqualTo(3);
        assertThat(e.messagesReceived()).isZero();
        assertThat(e.view()).isEmpty();
    }

    // --- what goes in a message -----------------------------------------------

    @Test
    void newsGoesFirstYoungestFirst() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(news("s1", 0, vector("x", 1, 1)), 1_000);
        e.receive(news("s2", 0, vector("y", 1, 1)), 1_010);
        e.receive(news("s3", 0, vector("z", 1, 1)), 1_020);
        // Learned last but published long ago: after the young ones.
        e.receive(news("s4", 900, vector("old", 1, 1)), 1_030);
        GossipMessage m = only(e.tick(1_040, List.of("d")));
        assertThat(m.items().get(0).vector().node()).isEqualTo("a");
        // Youngest first; of two published at the same moment, the one learned later.
        assertThat(nodes(m, true)).containsExactly("s4", "z", "s3", "y", "s2", "x");
        // The window is full; a quarter of it is kept for the refresh.
        assertThat(m.items()).hasSize(1 + CONFIG.window());
        assertThat(nodes(m, false)).hasSize(CONFIG.window() / 4);
    }

    @Test
    void aDestinationIsNotToldAboutItself() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(news("b", 0, vector("x", 1, 1)), 0);
        GossipMessage m = only(e.tick(10, List.of("x")));
        assertThat(m.items()).extracting(i -> i.vector().node()).containsExactly("a", "b");
    }

    @Test
    void newsIsRepeatedABoundedNumberOfTimesThenOnlyRefreshed() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(news("b", 0, vector("x", 1, 1)), 0);
        int asNews = 0;
        int asRefresh = 0;
        for (int round = 0; round < 20; round++) {
            for (GossipEngine.Outgoing o : e.tick(round * 100L, List.of("p", "q"))) {
                for (GossipMessage.Item i : LoadVectorCodec.decode(o.payload()).items()) {
                    if (!i.vector().node().equals("x")) continue;
                    if (i.news()) asNews++;
                    else asRefresh++;
                }
            }
        }
        assertThat(asNews).isEqualTo(GossipEngine.NEWS_SENDS);
        assertThat(asRefresh).isPositive();
    }

    @Test
    void oldNewsIsNotPushed() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(news("b", GossipEngine.NEWS_HORIZON_MILLIS + 1, vector("x", 1, 1)), 0);
        assertThat(nodes(only(e.tick(0, List.of("p"))), true)).containsExactly("b");
        // And news that ages past the horizon while queued stops being pushed.
        e.receive(news("c", GossipEngine.NEWS_HORIZON_MILLIS - 50, vector("y", 1, 1)), 100);
        assertThat(nodes(only(e.tick(100, List.of("p"))), true)).contains("y");
        assertThat(nodes(only(e.tick(200, List.of("p"))), true)).doesNotContain("y");
    }

    @Test
    void aRefreshIsNotPassedOnAsNews() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(refresh("b", vector("x", 1, 1)), 0);
        assertThat(e.entry("x")).isPresent();
        GossipMessage m = only(e.tick(0, List.of("p")));
        assertThat(nodes(m, true)).containsExactly("b"); // b's own vector was news; x was not
        assertThat(nodes(m, false)).contains("x");
    }

    @Test
    void jitterReplacesTheVectorWithoutBecomingNews() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        LoadVector x1 = vector("x", 1, 1);
        e.receive(news("b", 0, x1), 0);
        for (int r = 0; r < 10; r++) e.tick(r * 100L, List.of("p", "q")); // spend the news
        LoadVector x2 = new LoadVector("x", x1.address(), 1, 2, x1.cores(), x1.speed(), x1.load1() + 0.1,
                x1.cpuPercent() + 3, x1.memTotalBytes(), x1.memFreeBytes() - (10 << 20), x1.swapTotalBytes(),
                x1.swapFreeBytes(), x1.ownerIdleSeconds() + 1, x1.ownerPresent(), x1.guestSlots(), x1.guestJobs(),
                x1.sandbox(), x1.version(), false);
        e.receive(news("c", 0, x2), 2_000);
        assertThat(e.entry("x").orElseThrow().vector().seq()).isEqualTo(2);
        assertThat(nodes(only(e.tick(2_000, List.of("p"))), true)).doesNotContain("x");
        // The owner coming back is news.
        LoadVector x3 = new LoadVector("x", x1.address(), 1, 3, x1.cores(), x1.speed(), x1.load1(), x1.cpuPercent(),
                x1.memTotalBytes(), x1.memFreeBytes(), x1.swapTotalBytes(), x1.swapFreeBytes(), 0,
                !x1.ownerPresent(), x1.guestSlots(), x1.guestJobs(), x1.sandbox(), x1.version(), false);
        e.receive(news("c", 0, x3), 2_100);
        assertThat(nodes(only(e.tick(2_100, List.of("p"))), true)).contains("x");
    }

    @Test
    void everyMessageFitsTheBound() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        List<LoadVector> many = new ArrayList<>();
        for (int i = 0; i < 40; i++) many.add(vector("n" + i, 1, 1));
        e.receive(news("b", 0, many.subList(0, 14).toArray(LoadVector[]::new)), 0);
        e.receive(refresh("c", many.subList(14, 28).toArray(LoadVector[]::new)), 0);
        long perMessageBound = Math.round(CONFIG.maxBytesPerSecond() * CONFIG.periodMillis() / 1000.0 / CONFIG.fanout());
        for (int r = 0; r < 50; r++) {
            for (GossipEngine.Outgoing o : e.tick(r * 100L, List.of("p", "q", "r"))) {
                assertThat((long) o.payload().length).isLessThanOrEqualTo(perMessageBound);
                assertThat(LoadVectorCodec.decode(o.payload()).items()).hasSizeLessThanOrEqualTo(1 + CONFIG.window());
            }
        }
        assertThat(e.bytesSent()).isPositive();
        assertThat(e.messagesSent()).isEqualTo(100);
    }

    // --- forgetting -------------------------------------------------------------

    @Test
    void aForgottenNodeIsNotBroughtBackByOldGossip() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        e.receive(news("b", 0, vector("x", 1, 5)), 0);
        e.forget("x");
        assertThat(e.entry("x")).isEmpty();
        assertThat(e.view()).doesNotContainKey("x");
        e.receive(news("c", 0, vector("x", 1, 5)), 10);
        assertThat(e.entry("x")).isEmpty();
        // It never appears in messages either.
        for (int r = 0; r < 5; r++) {
            for (GossipEngine.Outgoing o : e.tick(r * 100L, List.of("p"))) {
                assertThat(LoadVectorCodec.decode(o.payload()).items()).noneMatch(i -> i.vector().node().equals("x"));
            }
        }
        // A newer vector means the node is back.
        e.receive(news("c", 0, vector("x", 2, 1)), 20);
        assertThat(e.entry("x")).isPresent();
        e.forget("a"); // self: no-op
        assertThat(e.entry("a")).isPresent();
    }

    @Test
    void forgettingKeepsTheRefreshCycleIntact() {
        GossipEngine e = engine("a");
        e.publishLocal(vector("a", 1, 1), 0);
        List<LoadVector> others = new ArrayList<>();
        for (int i = 0; i < 10; i++) others.add(vector("n" + i, 1, 1));
        e.receive(refresh("b", others.toArray(LoadVector[]::new)), 0);
        e.forget("n3");
        e.forget("n0");
        e.forget("n9");
        java.util.Set<String> refreshed = new java.util.HashSet<>();
        for (int r = 0; r < 10; r++) {
            for (GossipEngine.Outgoing o : e.tick(r * 100L, List.of("p"))) {
                GossipMessage m = LoadVectorCodec.decode(o.payload());
                refreshed.addAll(nodes(m, false));
                refreshed.addAll(nodes(m, true));
            }
        }
        assertThat(refreshed).containsExactlyInAnyOrder("b", "n1", "n2", "n4", "n5", "n6", "n7", "n8");
        assertThat(e.knownNodes()).isEqualTo(9);
    }

    @Test
    void twoEnginesTalk() {
        GossipEngine a = engine("a");
        GossipEngine b = engine("b");
        a.publishLocal(vector("a", 1, 0), 0);
        b.publishLocal(vector("b", 1, 0), 0);
        for (GossipEngine.Outgoing o : a.tick(0, List.of("b"))) b.receive(o.payload(), 5);
        for (GossipEngine.Outgoing o : b.tick(0, List.of("a"))) a.receive(o.payload(), 5);
        assertThat(a.view()).containsOnlyKeys("a", "b");
        assertThat(b.view()).containsOnlyKeys("a", "b");
        assertThat(a.bytesSent()).isEqualTo(b.bytesReceived());
        assertThat(a.view().get("b").learnedAtMillis()).isEqualTo(5);
    }
}
