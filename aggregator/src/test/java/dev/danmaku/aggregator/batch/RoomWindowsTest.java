package dev.danmaku.aggregator.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.danmaku.aggregator.batch.RoomWindows.Outcome;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.Likes;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoomWindowsTest {

    private static final User ALICE = new User("u1", "Alice", Role.VIEWER);
    private static final User STREAMER = new User("s1", "Sam", Role.STREAMER);

    private final RoomWindows windows = new RoomWindows(lenient(500, 100));

    @Test
    void commentsOfOneRoomInOneWindowMakeOneBatch() {
        windows.add(comment("r1", "c1", 10));
        windows.add(comment("r1", "c2", 11));
        windows.add(comment("r1", "c3", 12));

        List<Batch> batches = windows.drain(100);

        assertThat(batches).singleElement().satisfies(batch -> {
            assertThat(batch.room()).isEqualTo("r1");
            assertThat(batch.seq()).isEqualTo(-1);
            assertThat(batch.comments()).extracting(BatchComment::id).containsExactly("c1", "c2", "c3");
        });
    }

    @Test
    void twoRoomsMakeTwoBatches() {
        windows.add(comment("r1", "c1", 10));
        windows.add(comment("r2", "c2", 11));
        windows.add(comment("r1", "c3", 12));

        List<Batch> batches = windows.drain(100);

        assertThat(batches).extracting(Batch::room).containsExactly("r1", "r2");
        assertThat(batches.get(0).comments()).extracting(BatchComment::id).containsExactly("c1", "c3");
        assertThat(batches.get(1).comments()).extracting(BatchComment::id).containsExactly("c2");
    }

    @Test
    void aPartialDrainLeavesTheOtherRoomsOpenUntilALaterDrainOrARollback() {
        windows.add(comment("r1", "c1", 10));
        windows.add(comment("r2", "c2", 11));

        assertThat(windows.drain(100, room -> room.equals("r2"))).extracting(Batch::room).containsExactly("r2");
        windows.commit();
        assertThat(windows.rooms()).containsExactly("r1");

        windows.add(comment("r1", "c3", 120));
        assertThat(windows.drain(200)).singleElement().satisfies(batch ->
                assertThat(batch.comments()).extracting(BatchComment::id).containsExactly("c1", "c3"));
        windows.commit();

        windows.add(comment("r1", "c4", 210));
        windows.add(comment("r2", "c5", 211));
        windows.drain(300, room -> room.equals("r1"));
        windows.rollback();
        assertThat(windows.rooms()).as("a rollback forgets the windows left open too").isEmpty();
        assertThat(windows.state("r1").commentIds()).containsOnlyKeys("c1", "c3");
    }

    @Test
    void anEmptyWindowMakesNoBatch() {
        assertThat(windows.drain(100)).isEmpty();

        windows.add(comment("r1", "c1", 10));
        windows.drain(100);
        windows.commit();

        assertThat(windows.drain(200)).as("the next window, with nothing new").isEmpty();
    }

    @Test
    void joinsAndLeavesOpenNoWindow() {
        assertThat(windows.add(ingress(ALICE, 10, new ClientFrame.Join("r1", null)))).isEqualTo(Outcome.IGNORED);
        assertThat(windows.add(ingress(ALICE, 11, new ClientFrame.Leave("r1")))).isEqualTo(Outcome.IGNORED);
        assertThat(windows.isEmpty()).isTrue();
        assertThat(windows.drain(100)).isEmpty();
    }

    @Test
    void commentsKeepTheirArrivalOrder() {
        List<String> ids = List.of("z", "a", "m", "b", "y");
        long ts = 10;
        for (String id : ids) {
            windows.add(comment("r1", id, ts++));
        }

        assertThat(windows.drain(100).get(0).comments()).extracting(BatchComment::id).containsExactlyElementsOf(ids);
    }

    @Test
    void aDuplicateIdWithinAWindowIsDropped() {
        assertThat(windows.add(comment("r1", "c1", 10, "first"))).isEqualTo(Outcome.ADDED);
        assertThat(windows.add(comment("r1", "c1", 11, "retry"))).isEqualTo(Outcome.DUPLICATE);

        Batch batch = windows.drain(100).get(0);

        assertThat(batch.comments()).singleElement().satisfies(c -> {
            assertThat(c.text()).isEqualTo("first");
            assertThat(c.ts()).isEqualTo(10);
        });
        assertThat(batch.dropped()).as("a duplicate is not a dropped comment").isNull();
    }

    @Test
    void aRecentlyPublishedIdIsDroppedInALaterWindow() {
        windows.add(comment("r1", "c1", 10));
        windows.drain(100);
        windows.commit();

        assertThat(windows.add(comment("r1", "c1", 150))).isEqualTo(Outcome.DUPLICATE);
        assertThat(windows.add(comment("r2", "c1", 151))).as("ids are per room").isEqualTo(Outcome.ADDED);
    }

    @Test
    void theSameIdInAnotherRoomIsADifferentComment() {
        windows.add(comment("r1", "c1", 10));
        windows.add(comment("r2", "c1", 11));

        assertThat(windows.drain(100)).hasSize(2);
    }

    @Test
    void likesAreSummedWithARunningTotal() {
        windows.add(like("r1", 3, 10));
        windows.add(like("r1", 5, 11));
        windows.add(like("r2", 1, 12));
        List<Batch> first = windows.drain(100);
        windows.commit();
        windows.add(like("r1", 2, 110));
        List<Batch> second = windows.drain(200);
        windows.commit();

        assertThat(first).extracting(Batch::likes).containsExactly(new Likes(8, 8), new Likes(1, 1));
        assertThat(second).singleElement().satisfies(batch -> {
            assertThat(batch.likes()).isEqualTo(new Likes(2, 10));
            assertThat(batch.comments()).isEmpty();
        });
    }

    @Test
    void aWindowWithoutLikesCarriesNoLikes() {
        windows.add(comment("r1", "c1", 10));

        assertThat(windows.drain(100).get(0).likes()).isNull();
    }

    @Test
    void aRolledBackDrainDoesNotCountItsLikesOrIds() {
        windows.add(like("r1", 4, 10));
        windows.add(comment("r1", "c1", 11));
        windows.drain(100);
        windows.rollback();

        // the same records, consumed again after the rewind
        windows.add(like("r1", 4, 10));
        assertThat(windows.add(comment("r1", "c1", 11))).isEqualTo(Outcome.ADDED);
        Batch again = windows.drain(200).get(0);

        assertThat(again.likes()).isEqualTo(new Likes(4, 4));
        assertThat(again.comments()).hasSize(1);
    }

    @Test
    void rollbackForgetsTheOpenWindows() {
        windows.add(comment("r1", "c1", 10));

        windows.rollback();

        assertThat(windows.isEmpty()).isTrue();
        assertThat(windows.drain(100)).isEmpty();
    }

    @Test
    void theBatchTsIsTheDrainTimeAndEachCommentKeepsItsIngressTs() {
        windows.add(comment("r1", "c1", 1_000));
        windows.add(comment("r1", "c2", 1_040));

        Batch batch = windows.drain(1_100).get(0);

        assertThat(batch.ts()).isEqualTo(1_100);
        assertThat(batch.comments()).extracting(BatchComment::ts).containsExactly(1_000L, 1_040L);
    }

    @Test
    void aCommentShowsTheSendersPublicViewAndItsLook() {
        windows.add(ingress(ALICE, 10, new ClientFrame.Comment("r1", "c1", "233333", "#FF0000", Mode.TOP)));
        windows.add(ingress(STREAMER, 11, new ClientFrame.Comment("r1", "c2", "hi", null, null)));

        List<BatchComment> comments = windows.drain(100).get(0).comments();

        assertThat(comments.get(0)).isEqualTo(new BatchComment("c1", new User("u1", "Alice"), "233333", "#ff0000", Mode.TOP, 10));
        assertThat(comments.get(1).user()).as("a streamer's role is shown").isEqualTo(STREAMER);
        assertThat(comments.get(1).mode()).isEqualTo(Mode.SCROLL);
        assertThat(comments.get(1).color()).isEqualTo("#ffffff");
    }

    @Test
    void commentsBeyondTheWindowLimitAreCountedAsDropped() {
        RoomWindows small = new RoomWindows(lenient(2, 100));
        small.add(comment("r1", "c1", 10));
        small.add(comment("r1", "c2", 11));
        assertThat(small.add(comment("r1", "c3", 12))).isEqualTo(Outcome.DROPPED);
        small.add(comment("r1", "c4", 13));

        Batch batch = small.drain(100).get(0);

        assertThat(batch.comments()).extracting(BatchComment::id).containsExactly("c1", "c2");
        assertThat(batch.dropped()).isEqualTo(2);
    }

    @Test
    void discardingARoomDropsOnlyItsWindow() {
        windows.add(comment("r1", "c1", 10));
        windows.add(comment("r2", "c2", 11));

        assertThat(windows.discard("r1")).isEqualTo(1);

        assertThat(windows.rooms()).containsExactly("r2");
        assertThat(windows.drain(100)).extracting(Batch::room).containsExactly("r2");
    }

    @Test
    void recentIdsAreBoundedPerRoom() {
        RoomWindows forgetful = new RoomWindows(lenient(500, 2));
        for (String id : List.of("c1", "c2", "c3")) {
            forgetful.add(comment("r1", id, 10));
            forgetful.drain(100);
            forgetful.commit();
        }

        assertThat(forgetful.add(comment("r1", "c1", 200))).as("the oldest id was forgotten").isEqualTo(Outcome.ADDED);
        assertThat(forgetful.add(comment("r1", "c3", 201))).isEqualTo(Outcome.DUPLICATE);
    }

    @Test
    void nothingIsAddedOrDrainedBetweenADrainAndItsCommit() {
        windows.add(comment("r1", "c1", 10));
        windows.drain(100);

        assertThatThrownBy(() -> windows.add(comment("r1", "c2", 11))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> windows.drain(200)).isInstanceOf(IllegalStateException.class);
    }

    /** Defaults without per-user limits and duplicate-text suppression, a density cap of {@code max}. */
    static RoomPolicy lenient(int max, int recentIds) {
        RoomPolicy d = RoomPolicy.defaults();
        return new RoomPolicy(max, max, recentIds, d.giftIdsPerRoom(), d.dedupHorizon(), d.recentComments(),
                d.gifters(), d.comboTimeout(), 1000, Duration.ofMillis(1), Map.of(), Duration.ZERO,
                d.giftPriority(), List.of(), d.gifts());
    }

    private static Ingress comment(String room, String id, long ts) {
        return comment(room, id, ts, "text of " + id);
    }

    private static Ingress comment(String room, String id, long ts, String text) {
        return ingress(ALICE, ts, new ClientFrame.Comment(room, id, text, null, null));
    }

    private static Ingress like(String room, int count, long ts) {
        return ingress(ALICE, ts, new ClientFrame.Like(room, count));
    }

    private static Ingress ingress(User user, long ts, ClientFrame.RoomFrame frame) {
        return new Ingress("gw-1", "conn-1", user, ts, frame);
    }
}
