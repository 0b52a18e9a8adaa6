package io.herd.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.herd.policy.Admission.Decision;
import io.herd.policy.Admission.State;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import org.junit.jupiter.api.Test;

/**
 * The accept decision on an injected clock: lock, always/never, when-idle,
 * and weekly windows across midnight, weekends, wrapping day ranges, their
 * boundaries and the days the clocks change; then the per-guest lists and
 * memory limit.
 */
class AdmissionTest {

    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final String WEEK_NIGHTS = "windows Mon-Fri 19:00-08:00; Sat-Sun";

    /** 2026-11-23 is a Monday. */
    private static Instant at(String localDateTime) {
        return LocalDateTime.parse(localDateTime).atZone(BERLIN).toInstant();
    }

    private static Decision decide(String accept, String localDateTime) {
        return Admission.decide(Policy.DEFAULT.with("accept", accept), OwnerLock.UNLOCKED, -1, at(localDateTime), BERLIN);
    }

    @Test
    void alwaysAcceptsAndNeverRefuses() {
        assertThat(Admission.decide(Policy.DEFAULT, OwnerLock.UNLOCKED, 0, Instant.EPOCH, BERLIN)).isEqualTo(Decision.ACCEPTING);
        Decision never = decide("never", "2026-11-23T12:00");
        assertThat(never.state()).isEqualTo(State.NEVER);
        assertThat(never.reason()).isEqualTo("the owner accepts no guests (accept never)");
        assertThat(never.accepting()).isFalse();
    }

    @Test
    void aLockWinsOverEveryRule() {
        OwnerLock lock = OwnerLock.lockedBy("alice", "backup running", Instant.EPOCH);
        Decision d = Admission.decide(Policy.DEFAULT, lock, -1, Instant.EPOCH, BERLIN);
        assertThat(d.state()).isEqualTo(State.LOCKED);
        assertThat(d.reason()).isEqualTo("locked by the owner (backup running)");
        assertThat(d.brief()).isEqualTo("backup running");
        assertThat(Admission.decide(Policy.DEFAULT.with("accept", "never"),
                OwnerLock.lockedBy("alice", "", Instant.EPOCH), -1, Instant.EPOCH, BERLIN).reason())
                .isEqualTo("locked by the owner");
    }

    @Test
    void whenIdleWaitsForTheOwnersIdleTimeAndCountsUnknownAsIdle() {
        Policy p = Policy.DEFAULT.with("accept", "when-idle 10m");
        Decision busy = Admission.decide(p, OwnerLock.UNLOCKED, 120, Instant.EPOCH, BERLIN);
        assertThat(busy.state()).isEqualTo(State.IDLE_WAIT);
        assertThat(busy.reason()).isEqualTo("owner active 2 min ago; accepts after 10 min idle");
        assertThat(busy.brief()).isEqualTo("after 10 min idle");
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, 0, Instant.EPOCH, BERLIN).reason())
                .isEqualTo("owner active just now; accepts after 10 min idle");
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, 599, Instant.EPOCH, BERLIN).accepting()).isFalse();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, 600, Instant.EPOCH, BERLIN).accepting()).as("boundary").isTrue();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, 86_400, Instant.EPOCH, BERLIN).accepting()).isTrue();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, Instant.EPOCH, BERLIN).accepting())
                .as("no seat, no input devices: a server; nobody to disturb").isTrue();
        Policy odd = Policy.DEFAULT.with("accept", "when-idle 1h30m");
        assertThat(Admission.decide(odd, OwnerLock.UNLOCKED, 30, Instant.EPOCH, BERLIN).reason())
                .isEqualTo("owner active 30 s ago; accepts after 1 h 30 min idle");
    }

    @Test
    void weekNightsAndWeekends() {
        // Monday: closed in office hours, open from 19:00, through midnight, until Tuesday 08:00.
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T12:00").reason())
                .isEqualTo("outside the owner's windows (next opens Mon 19:00)");
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T12:00").state()).isEqualTo(State.WINDOW);
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T18:59:59").accepting()).isFalse();
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T19:00").accepting()).as("opening is inclusive").isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T23:59:59").accepting()).isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-24T00:00").accepting()).as("across midnight").isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-24T07:59:59").accepting()).isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-24T08:00").accepting()).as("closing is exclusive").isFalse();
        assertThat(decide(WEEK_NIGHTS, "2026-11-24T08:00").reason()).endsWith("(next opens Tue 19:00)");
        // Monday early morning: Sunday is a whole day, and Sunday's window ends at midnight; no
        // Sunday-night window, so Monday 00:00-08:00 is closed.
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T03:00").accepting()).isFalse();
        assertThat(decide(WEEK_NIGHTS, "2026-11-23T03:00").reason()).endsWith("(next opens Mon 19:00)");
        // Friday night runs into Saturday morning, and Saturday is open all day anyway.
        assertThat(decide(WEEK_NIGHTS, "2026-11-27T18:00").accepting()).isFalse();
        assertThat(decide(WEEK_NIGHTS, "2026-11-28T07:00").accepting()).isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-28T12:00").accepting()).isTrue();
        assertThat(decide(WEEK_NIGHTS, "2026-11-29T23:59").accepting()).isTrue();
    }

    @Test
    void dayRangesWrapAroundTheWeek() {
        String w = "windows Fri-Mon 22:00-06:00";
        assertThat(Policy.DEFAULT.with("accept", w).settings().get("accept")).isEqualTo("windows Fri-Mon 22:00-06:00");
        assertThat(decide(w, "2026-11-23T23:00").accepting()).as("Mon night").isTrue();
        assertThat(decide(w, "2026-11-24T05:00").accepting()).as("Tue morning, from Mon night").isTrue();
        assertThat(decide(w, "2026-11-24T23:00").accepting()).as("Tue night").isFalse();
        assertThat(decide(w, "2026-11-26T05:00").accepting()).as("Thu morning").isFalse();
        assertThat(decide(w, "2026-11-26T05:00").reason()).endsWith("(next opens Fri 22:00)");
        assertThat(decide(w, "2026-11-29T23:00").accepting()).as("Sun night").isTrue();
        String sunMon = "windows Sun-Mon";
        assertThat(decide(sunMon, "2026-11-29T00:00").accepting()).isTrue();
        assertThat(decide(sunMon, "2026-11-30T23:59").accepting()).isTrue();
        assertThat(decide(sunMon, "2026-12-01T00:00").accepting()).isFalse();
        assertThat(decide(sunMon, "2026-12-01T00:00").reason()).endsWith("(next opens Sun 00:00)");
        assertThat(Windows.parse("Sat,Sun,Mon 10:00-24:00").toString()).isEqualTo("Sat-Mon 10:00-24:00");
        assertThat(Windows.parse("sun,tue,mon").toString()).isEqualTo("Sun-Tue");
        assertThat(Windows.parse("Mon,Wed,Fri").toString()).isEqualTo("Mon,Wed,Fri");
        assertThat(Windows.parse("Mon-Sun").toString()).isEqualTo("daily");
        assertThat(Windows.parse("Monday-Friday 9:05-17:30").toString()).isEqualTo("Mon-Fri 09:05-17:30");
    }

    @Test
    void endOfDayAndWholeDays() {
        String w = "windows Sat 12:00-24:00";
        assertThat(decide(w, "2026-11-28T23:59:59").accepting()).isTrue();
        assertThat(decide(w, "2026-11-29T00:00").accepting()).isFalse();
        assertThat(decide(w, "2026-11-28T11:59").accepting()).isFalse();
        assertThat(decide("windows daily 00:00-24:00", "2026-11-28T03:00").accepting()).isTrue();
    }

    @Test
    void nextOpenAndNextCloseSkipOverlaps() {
        Windows w = Windows.parse("Mon-Fri 19:00-08:00; Sat-Sun");
        // Friday 19:00 to Monday 08:00 is one stretch: Fri night, Sat, Sun, then Sun night? no:
        // Sunday is a whole day, so it closes at Monday 00:00.
        assertThat(w.nextClose(LocalDateTime.parse("2026-11-27T20:00"))).contains(LocalDateTime.parse("2026-11-30T00:00"));
        assertThat(w.nextClose(LocalDateTime.parse("2026-11-23T20:00"))).contains(LocalDateTime.parse("2026-11-24T08:00"));
        assertThat(w.nextClose(LocalDateTime.parse("2026-11-23T12:00"))).isEmpty();
        assertThat(w.nextOpen(LocalDateTime.parse("2026-11-23T20:00"))).isEmpty();
        assertThat(Windows.parse("daily").nextClose(LocalDateTime.parse("2026-11-23T20:00"))).isEmpty();
        assertThat(Windows.parse("Wed 10:00-11:00").nextOpen(LocalDateTime.parse("2026-11-25T11:00")))
                .as("a week later").contains(LocalDateTime.parse("2026-12-02T10:00"));
    }

    @Test
    void windowsFollowLocalTimeOnTheDaysTheClocksChange() {
        // 2026-03-29 (a Sunday): Berlin springs forward at 02:00 to 03:00. A 02:30-04:00 window opens at 03:00.
        String w = "windows Sun 02:30-04:00";
        Instant beforeJump = ZonedDateTime.of(2026, 3, 29, 1, 59, 0, 0, BERLIN).toInstant();
        assertThat(Admission.decide(Policy.DEFAULT.with("accept", w), OwnerLock.UNLOCKED, -1, beforeJump, BERLIN).accepting())
                .isFalse();
        assertThat(Admission.decide(Policy.DEFAULT.with("accept", w), OwnerLock.UNLOCKED, -1,
                beforeJump.plusSeconds(60), BERLIN).accepting()).as("01:59 + 1 min is 03:00 local").isTrue();
        // A night window on that day is an hour shorter in real time, but opens and closes at the written hours.
        String nights = "windows Sat 22:00-07:00";
        Instant sixLocal = ZonedDateTime.of(2026, 3, 29, 6, 59, 0, 0, BERLIN).toInstant();
        assertThat(Admission.decide(Policy.DEFAULT.with("accept", nights), OwnerLock.UNLOCKED, -1, sixLocal, BERLIN)
                .accepting()).isTrue();
        assertThat(Admission.decide(Policy.DEFAULT.with("accept", nights), OwnerLock.UNLOCKED, -1,
                sixLocal.plusSeconds(60), BERLIN).accepting()).isFalse();
        // 2026-10-25: 03:00 falls back to 02:00; both 02:30s are inside a 02:00-03:00 window.
        String fallBack = "windows Sun 02:00-03:00";
        Instant firstHalfPast = ZonedDateTime.ofLocal(LocalDateTime.parse("2026-10-25T02:30"), BERLIN,
                java.time.ZoneOffset.ofHours(2)).toInstant();
        Policy p = Policy.DEFAULT.with("accept", fallBack);
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, firstHalfPast, BERLIN).accepting()).isTrue();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, firstHalfPast.plusSeconds(3600), BERLIN).accepting()).isTrue();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, firstHalfPast.plusSeconds(7200), BERLIN).accepting()).isFalse();
    }

    @Test
    void theClocksZoneDecides() {
        Clock utc = Clock.fixed(Instant.parse("2026-11-23T17:30:00Z"), ZoneId.of("UTC"));
        Clock berlin = utc.withZone(BERLIN); // 18:30 there
        Policy p = Policy.DEFAULT.with("accept", "windows Mon 18:00-19:00");
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, utc.instant(), utc.getZone()).accepting()).isFalse();
        assertThat(Admission.decide(p, OwnerLock.UNLOCKED, -1, berlin.instant(), berlin.getZone()).accepting()).isTrue();
    }

    @Test
    void usersAndNodesAgainstTheListsDenyWinning() {
        assertThat(Admission.refuseGuest(Policy.DEFAULT, "alice", "n1", 0)).isNull();
        assertThat(Admission.refuseGuest(Policy.DEFAULT, "alice", null, 0)).isNull();
        Policy deny = Policy.DEFAULT.with("deny-users", "mallory").with("deny-nodes", "laptop");
        assertThat(Admission.refuseGuest(deny, "mallory", "n1", 0))
                .isEqualTo("the owner does not accept guests of user mallory (deny-users)");
        assertThat(Admission.refuseGuest(deny, "alice", "laptop", 0))
                .isEqualTo("the owner does not accept guests from node laptop (deny-nodes)");
        assertThat(Admission.refuseGuest(deny, "alice", "n1", 0)).isNull();
        Policy allow = Policy.DEFAULT.with("allow-users", "alice,bob").with("allow-nodes", "n1");
        assertThat(Admission.refuseGuest(allow, "alice", "n1", 0)).isNull();
        assertThat(Admission.refuseGuest(allow, "carol", "n1", 0))
                .isEqualTo("the owner accepts guests only of alice, bob (allow-users), not of carol");
        assertThat(Admission.refuseGuest(allow, "bob", "n2", 0))
                .isEqualTo("the owner accepts guests only from n1 (allow-nodes), not from n2");
        assertThat(Admission.refuseGuest(allow, "bob", null, 0))
                .isEqualTo("the owner accepts guests only from n1 (allow-nodes), not from an unknown node");
        Policy both = allow.with("deny-users", "bob").with("deny-nodes", "n1");
        assertThat(Admission.refuseGuest(both, "bob", "n2", 0)).as("deny wins").contains("deny-users");
        assertThat(Admission.refuseGuest(both, "alice", "n1", 0)).as("deny wins").contains("deny-nodes");
    }

    @Test
    void memoryAboveGuestMemMaxIsRefused() {
        Policy p = Policy.DEFAULT.with("guest-mem-max", "1G");
        assertThat(Admission.refuseGuest(p, "alice", "n1", 1L << 30)).isNull();
        assertThat(Admission.refuseGuest(p, "alice", "n1", 0)).as("no --mem: gets the capped default").isNull();
        assertThat(Admission.refuseGuest(p, "alice", "n1", 2L << 30)).isEqualTo("the job asks for 2G of memory and "
                + "the owner lets a guest have at most 1G (guest-mem-max); ask for less with --mem");
    }

    @Test
    void gossipedStateWordsRoundTrip() {
        for (State s : State.values()) assertThat(State.of(s.word())).isEqualTo(s);
        assertThat(State.of("")).as("older peers send nothing: accepting").isEqualTo(State.YES);
        assertThat(State.of("frozen")).as("a newer peer's word: not accepting").isEqualTo(State.NEVER);
    }
}
