package dev.danmaku.aggregator.batch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.aggregator.batch.RoomWindows.Outcome;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.GiftEntry;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.ServerFrame.TopEntry;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.RoomState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The room rules of issue 3 (gifts, state, limits, density, moderation), one per test, without a broker. */
class RoomRulesTest {

    private static final User ALICE = new User("u1", "Alice", Role.VIEWER);
    private static final User BO = new User("u2", "Bo", Role.VIEWER);
    private static final User STREAMER = new User("s1", "Sam", Role.STREAMER);
    private static final User MOD = new User("m1", "Mo", Role.MODERATOR);
    private static final long T0 = 1_732_230_000_000L;

    private RoomWindows windows = new RoomWindows(RoomPolicy.defaults());

    // --- gifts -------------------------------------------------------------------------------

    @Test
    void oneUsersSendsOfOneGiftInAWindowMergeIntoOneEntryWithTheCatalogueValue() {
        windows.add(gift(ALICE, "g1", "rose", 2, T0));
        windows.add(gift(ALICE, "g2", "rose", 3, T0 + 10));
        windows.add(gift(BO, "g3", "rose", 1, T0 + 20));

        Batch batch = drainCommit(T0 + 100).get(0);

        assertThat(batch.gifts()).containsExactly(
                new GiftEntry(new User("u1", "Alice"), "rose", 5, 50, 5),
                new GiftEntry(new User("u2", "Bo"), "rose", 1, 10, 1));
    }

    @Test
    void aStreakAcrossWindowsCarriesAGrowingComboAndEndsAfterThePause() {
        windows.add(gift(ALICE, "g1", "heart", 1, T0));
        drainCommit(T0 + 100);
        windows.add(gift(ALICE, "g2", "heart", 2, T0 + 1000));
        Batch second = drainCommit(T0 + 1100).get(0);
        windows.add(gift(ALICE, "g3", "heart", 1, T0 + 10_000));
        Batch third = drainCommit(T0 + 10_100).get(0);

        assertThat(second.gifts()).extracting(GiftEntry::combo).containsExactly(3);
        assertThat(third.gifts()).extracting(GiftEntry::combo).as("more than 3 s later: a new streak").containsExactly(1);
    }

    @Test
    void totalsAndTopRideOnTheBatchWhenGiftsChangedThem() {
        windows.add(gift(ALICE, "g1", "rocket", 1, T0));
        windows.add(gift(BO, "g2", "rose", 2, T0));
        Batch batch = drainCommit(T0 + 100).get(0);
        windows.add(comment(ALICE, "c1", "hi", T0 + 200));
        Batch withoutGifts = drainCommit(T0 + 300).get(0);

        assertThat(batch.totals().gifts()).containsExactly(
                Map.entry("rocket", new GiftTotal(1, 1000)), Map.entry("rose", new GiftTotal(2, 20)));
        assertThat(batch.totals().top()).containsExactly(
                new TopEntry(new User("u1", "Alice"), 1000), new TopEntry(new User("u2", "Bo"), 20));
        assertThat(withoutGifts.totals()).isNull();
    }

    @Test
    void aGiftIdIsCountedOnceEverWithinTheHorizon() {
        windows.add(gift(ALICE, "g1", "rocket", 1, T0));
        assertThat(windows.add(gift(ALICE, "g1", "rocket", 1, T0 + 1))).as("same window").isEqualTo(Outcome.DUPLICATE);
        drainCommit(T0 + 100);
        assertThat(windows.add(gift(ALICE, "g1", "rocket", 1, T0 + 60_000))).as("a later window").isEqualTo(Outcome.DUPLICATE);

        assertThat(windows.state("r1").gifts()).containsExactly(Map.entry("rocket", new GiftTotal(1, 1000)));
    }

    @Test
    void giftsAreNeverDroppedByTheDensityCap() {
        windows = new RoomWindows(RoomPolicy.defaults().withDensity(1));
        windows.add(comment(ALICE, "c1", "one", T0));
        windows.add(comment(BO, "c2", "two", T0));
        for (int i = 0; i < 50; i++) {
            assertThat(windows.add(gift(i % 2 == 0 ? ALICE : BO, "g" + i, "heart", 1, T0 + i))).isEqualTo(Outcome.ADDED);
        }

        Batch batch = drainCommit(T0 + 100).get(0);

        assertThat(batch.comments()).hasSize(1);
        assertThat(batch.dropped()).isEqualTo(1);
        assertThat(batch.gifts()).extracting(GiftEntry::count).containsExactly(25, 25);
    }

    @Test
    void theTopListKeepsTheTenBiggestGifters() {
        for (int i = 0; i < 12; i++) {
            windows.add(gift(new User("g" + i, "G" + i), "id" + i, "rose", i + 1, T0 + i));
        }
        Batch batch = drainCommit(T0 + 100).get(0);

        assertThat(batch.totals().top()).hasSize(10);
        assertThat(batch.totals().top().get(0)).isEqualTo(new TopEntry(new User("g11", "G11"), 120));
        assertThat(batch.totals().top()).extracting(e -> e.user().id()).doesNotContain("g0", "g1");
    }

    // --- state -------------------------------------------------------------------------------

    @Test
    void theDrainedStateCarriesTotalsIdsMutesAndRecentCommentsAndARestoredRoomContinuesFromIt() {
        windows.add(like(ALICE, 5, T0));
        windows.add(gift(ALICE, "g1", "rocket", 2, T0));
        windows.add(comment(ALICE, "c1", "hello", T0));
        windows.add(mute(STREAMER, "u2", 600, T0));
        windows.drain(T0 + 100);
        RoomState state = windows.drainedStates().get(0);
        windows.commit();

        assertThat(state.likes()).isEqualTo(5);
        assertThat(state.gifts()).containsEntry("rocket", new GiftTotal(2, 2000));
        assertThat(state.giftIds()).containsOnlyKeys("g1");
        assertThat(state.commentIds()).containsOnlyKeys("c1");
        assertThat(state.mutes()).containsEntry("u2", T0 + 600_000);
        assertThat(state.recent()).extracting(BatchComment::id).containsExactly("c1");

        RoomWindows next = new RoomWindows(RoomPolicy.defaults());
        next.restore(state);
        assertThat(next.add(gift(ALICE, "g1", "rocket", 2, T0 + 200))).isEqualTo(Outcome.DUPLICATE);
        assertThat(next.add(comment(BO, "c2", "me?", T0 + 200))).isEqualTo(Outcome.MUTED);
        next.add(like(ALICE, 1, T0 + 200));
        next.add(gift(BO, "g2", "rocket", 1, T0 + 200));
        Batch batch = next.drain(T0 + 300).get(0);

        assertThat(batch.likes().total()).isEqualTo(6);
        assertThat(batch.totals().gifts()).containsEntry("rocket", new GiftTotal(3, 3000));
    }

    @Test
    void aRolledBackDrainLeavesTheStateAsItWas() {
        windows.add(gift(ALICE, "g1", "rocket", 1, T0));
        windows.drain(T0 + 100);
        windows.rollback();

        assertThat(windows.state("r1").gifts()).isEmpty();
        assertThat(windows.add(gift(ALICE, "g1", "rocket", 1, T0))).as("consumed again").isEqualTo(Outcome.ADDED);
    }

    @Test
    void idsOlderThanTheHorizonAreForgotten() {
        windows = new RoomWindows(RoomPolicy.defaults().withIds(1024, 10_000, Duration.ofMinutes(10)));
        windows.add(gift(ALICE, "g1", "heart", 1, T0));
        drainCommit(T0 + 100);
        windows.add(like(ALICE, 1, T0 + 11 * 60_000));
        drainCommit(T0 + 11 * 60_000);

        assertThat(windows.state("r1").giftIds()).isEmpty();
    }

    // --- limits ------------------------------------------------------------------------------

    @Test
    void aUserMayCommentOnceASecondWithBurstsOfThree() {
        List<Outcome> outcomes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            outcomes.add(windows.add(comment(ALICE, "c" + i, "text " + i, T0 + i)));
        }
        outcomes.add(windows.add(comment(ALICE, "c5", "later", T0 + 1_100)));

        assertThat(outcomes).containsExactly(Outcome.ADDED, Outcome.ADDED, Outcome.ADDED,
                Outcome.RATE_LIMITED, Outcome.RATE_LIMITED, Outcome.ADDED);
        assertThat(windows.add(comment(BO, "b1", "another user", T0 + 5))).isEqualTo(Outcome.ADDED);
    }

    @Test
    void aRoomInSlowModeAllowsOneCommentPerInterval() {
        windows = new RoomWindows(RoomPolicy.defaults().withCommentRate(3, Duration.ofSeconds(1),
                Map.of("r1", Duration.ofSeconds(10))));

        assertThat(windows.add(comment(ALICE, "c1", "one", T0))).isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment(ALICE, "c2", "two", T0 + 5_000))).isEqualTo(Outcome.RATE_LIMITED);
        assertThat(windows.add(comment(ALICE, "c3", "three", T0 + 10_000))).isEqualTo(Outcome.ADDED);
    }

    @Test
    void theStreamerPutsTheRoomInSlowModeAndTakesItOutAgainAndTheStateKeepsIt() {
        windows.add(slowMode(STREAMER, 10, T0));
        assertThat(windows.add(comment(ALICE, "c1", "one", T0 + 1))).isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment(ALICE, "c2", "two", T0 + 2))).as("same window").isEqualTo(Outcome.RATE_LIMITED);
        drainCommit(T0 + 100);
        assertThat(windows.state("r1").slowMode()).isEqualTo(10);
        assertThat(windows.add(comment(ALICE, "c3", "three", T0 + 5_000))).isEqualTo(Outcome.RATE_LIMITED);
        assertThat(windows.add(comment(ALICE, "c4", "four", T0 + 10_001))).isEqualTo(Outcome.ADDED);

        // another aggregator restores the room from its state: still in slow mode
        RoomWindows next = new RoomWindows(RoomPolicy.defaults());
        next.restore(windows.state("r1"));
        assertThat(next.add(comment(BO, "b1", "one", T0 + 20_000))).isEqualTo(Outcome.ADDED);
        assertThat(next.add(comment(BO, "b2", "two", T0 + 20_001))).isEqualTo(Outcome.RATE_LIMITED);

        // seconds 0: back to the usual burst
        next.add(slowMode(STREAMER, 0, T0 + 20_002));
        assertThat(next.add(comment(BO, "b3", "three", T0 + 20_003))).isEqualTo(Outcome.ADDED);
        assertThat(next.add(comment(BO, "b4", "four", T0 + 20_004))).isEqualTo(Outcome.ADDED);
        next.drain(T0 + 20_100);
        next.commit();
        assertThat(next.state("r1").slowMode()).isZero();
    }

    @Test
    void theSameTextFromTheSameUserWithin30SecondsIsDropped() {
        assertThat(windows.add(comment(ALICE, "c1", "233333", T0))).isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment(ALICE, "c2", "233333", T0 + 20_000))).isEqualTo(Outcome.REPEATED);
        assertThat(windows.add(comment(BO, "c3", "233333", T0 + 20_000))).as("another user").isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment(ALICE, "c4", "233333", T0 + 31_000))).isEqualTo(Outcome.ADDED);
    }

    @Test
    void theDensityCapKeepsStreamerModeratorsAndRecentGiftersFirstAndCountsTheRest() {
        windows = new RoomWindows(RoomPolicy.defaults().withDensity(3));
        User gifter = new User("u9", "Gi");
        windows.add(gift(gifter, "g1", "heart", 1, T0 - 30_000));
        drainCommit(T0 - 29_000);
        windows.add(comment(ALICE, "a1", "first", T0));
        windows.add(comment(BO, "b1", "second", T0 + 1));
        windows.add(comment(gifter, "x1", "gifter", T0 + 2));
        windows.add(comment(MOD, "m1", "moderator", T0 + 3));
        windows.add(comment(STREAMER, "s1", "streamer", T0 + 4));

        Batch batch = drainCommit(T0 + 100).get(0);

        assertThat(batch.comments()).extracting(BatchComment::id).as("in arrival order").containsExactly("x1", "m1", "s1");
        assertThat(batch.dropped()).isEqualTo(2);
    }

    @Test
    void likesAreSummedWithARunningTotal() {
        windows.add(like(ALICE, 3, T0));
        windows.add(like(BO, 4, T0));
        assertThat(drainCommit(T0 + 100).get(0).likes().total()).isEqualTo(7);
        windows.add(like(BO, 1, T0 + 200));
        Batch batch = drainCommit(T0 + 300).get(0);
        assertThat(batch.likes().delta()).isEqualTo(1);
        assertThat(batch.likes().total()).isEqualTo(8);
    }

    // --- moderation --------------------------------------------------------------------------

    @Test
    void aBlockedWordIsMatchedCaseInsensitivelyAndInFullWidth() {
        windows = new RoomWindows(RoomPolicy.defaults().withBlockedWords(List.of("spam")));

        assertThat(windows.add(comment(ALICE, "c1", "buy SPAM now", T0))).isEqualTo(Outcome.BLOCKED);
        assertThat(windows.add(comment(BO, "c2", "ｓｐａｍ！", T0))).isEqualTo(Outcome.BLOCKED);
        assertThat(windows.add(comment(BO, "c3", "Ｓｐａｍ", T0 + 1))).isEqualTo(Outcome.BLOCKED);
        assertThat(windows.add(comment(BO, "c4", "spa m", T0 + 2))).isEqualTo(Outcome.ADDED);
        assertThat(windows.outcomes()).containsEntry(Outcome.BLOCKED, 3L);
    }

    @Test
    void aMutedUsersCommentsAreDroppedUntilTheMuteEnds() {
        windows.add(mute(STREAMER, "u1", 60, T0));
        assertThat(windows.add(comment(ALICE, "c1", "in the same window", T0 + 1))).isEqualTo(Outcome.MUTED);
        drainCommit(T0 + 100);

        assertThat(windows.add(comment(ALICE, "c2", "later", T0 + 30_000))).isEqualTo(Outcome.MUTED);
        assertThat(windows.add(comment(BO, "c3", "not muted", T0 + 30_000))).isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment(ALICE, "c4", "after the mute", T0 + 61_000))).isEqualTo(Outcome.ADDED);
    }

    private List<Batch> drainCommit(long now) {
        List<Batch> batches = windows.drain(now);
        windows.commit();
        return batches;
    }

    private static Ingress comment(User user, String id, String text, long ts) {
        return new Ingress("gw-1", "conn-1", user, ts, new ClientFrame.Comment("r1", id, text, null, null));
    }

    private static Ingress gift(User user, String id, String gift, int count, long ts) {
        return new Ingress("gw-1", "conn-1", user, ts, new ClientFrame.Gift("r1", id, gift, count));
    }

    private static Ingress like(User user, int count, long ts) {
        return new Ingress("gw-1", "conn-1", user, ts, new ClientFrame.Like("r1", count));
    }

    private static Ingress slowMode(User by, int seconds, long ts) {
        return new Ingress("gw-1", "conn-1", by, ts, new ClientFrame.SlowMode("r1", seconds));
    }

    private static Ingress mute(User by, String user, int seconds, long ts) {
        return new Ingress("gw-1", "conn-1", by, ts, new ClientFrame.Mute("r1", user, seconds));
    }
}
