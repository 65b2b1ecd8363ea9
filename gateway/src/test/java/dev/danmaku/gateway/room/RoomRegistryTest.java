package dev.danmaku.gateway.room;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

class RoomRegistryTest {

    private static final Duration VERIFY = Duration.ofSeconds(5);
    private static final long NOW = 1_000_000;

    private final FakeFeed feed = new FakeFeed();
    private final JsonFrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final CborFrameCodec cbor = new CborFrameCodec(Limits.DEFAULTS);
    private final Codecs codecs = new Codecs(List.of(json, cbor));
    private final Clock clock = Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC);

    private RoomRegistry registry(int ringMaxBatches, Duration joinTimeout, int maxReplay) {
        return new RoomRegistry(feed, new BusCodec(), codecs, clock,
                new RoomRegistry.Settings(ringMaxBatches, Duration.ofMinutes(2), joinTimeout, maxReplay));
    }

    private final RoomRegistry registry = registry(100, Duration.ofSeconds(10), 1000);

    /** Subscribes to a join whose outcome the test does not look at (a never-ready room times out). */
    private static Disposable subscribe(Mono<Void> join) {
        return join.subscribe(null, error -> { });
    }

    /** The feed reads records at these offsets (each its own poll) and reports its position after the last. */
    private void read(String room, long... offsets) {
        for (long offset : offsets) {
            feed.listener(room).onRecords(List.of(feed.record(room, offset, NOW)), offset + 1);
        }
    }

    @Test
    void joinOfANewRoomWaitsUntilItsFeedHasCaughtUp() {
        RecordingViewer viewer = new RecordingViewer();
        Mono<Void> join = registry.join("r1", null, viewer);

        StepVerifier.create(join)
                .then(() -> {
                    assertThat(feed.follows).containsEntry("r1", 1);
                    feed.listener("r1").onStart(0);
                    read("r1", 0, 1, 2);
                    assertThat(viewer.received).as("nothing before the feed is ready").isEmpty();
                    feed.listener("r1").onReady(3);
                })
                .expectComplete()
                .verify(VERIFY);

        assertThat(viewer.timeline()).containsExactly("joined:2:false");
        read("r1", 3);
        assertThat(viewer.timeline()).containsExactly("joined:2:false", "3");
    }

    @Test
    void joinedSeqIsTheLatestSeqAndLaterBatchesAreGreater() {
        RecordingViewer first = new RecordingViewer();
        StepVerifier.create(registry.join("r1", null, first))
                .then(() -> {
                    feed.listener("r1").onStart(0);
                    feed.listener("r1").onReady(0);
                })
                .verifyComplete();
        assertThat(first.timeline()).containsExactly("joined:-1:false");

        read("r1", 0);
        // a commit marker: the position moves past it without a record
        feed.listener("r1").onRecords(List.of(), 2);

        RecordingViewer second = new RecordingViewer();
        StepVerifier.create(registry.join("r1", null, second)).expectComplete().verify(VERIFY);
        read("r1", 2);

        assertThat(first.timeline()).containsExactly("joined:-1:false", "0", "2");
        assertThat(second.timeline()).as("the latest batch, not the marker after it")
                .containsExactly("joined:0:false", "2");
    }

    @Test
    void aRoomWarmedPastItsLastBatchReportsTheOffsetBeforeTheStartAsItsSeq() {
        RecordingViewer viewer = new RecordingViewer();
        subscribe(registry.join("r1", null, viewer));
        feed.listener("r1").onStart(40); // every batch before 40 is too old for the ring
        feed.listener("r1").onReady(42);
        read("r1", 43);
        assertThat(viewer.timeline()).containsExactly("joined:39:false", "43");
    }

    @Test
    void joinWithSinceReplaysTheMissedBatchesThenContinuesLive() {
        RecordingViewer watcher = new RecordingViewer();
        subscribe(registry.join("r1", null, watcher));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        read("r1", 0, 1, 2, 3, 4);

        RecordingViewer resumer = new RecordingViewer();
        StepVerifier.create(registry.join("r1", 1L, resumer)).expectComplete().verify(VERIFY);
        read("r1", 5);

        assertThat(resumer.timeline()).containsExactly("joined:4:true", "2", "3", "4", "5");
    }

    @Test
    void joinWithSinceOlderThanTheRingIsNotRecovered() {
        RoomRegistry small = registry(3, Duration.ofSeconds(10), 1000);
        subscribe(small.join("r1", null, new RecordingViewer()));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        read("r1", 0, 1, 2, 3, 4, 5);

        RecordingViewer resumer = new RecordingViewer();
        subscribe(small.join("r1", 1L, resumer));
        read("r1", 6);

        assertThat(resumer.timeline()).containsExactly("joined:5:false", "6");
    }

    @Test
    void resumeOnANodeThatWarmsTheRoomUpReplaysFromItsRing() {
        RecordingViewer resumer = new RecordingViewer();
        subscribe(registry.join("r1", 7L, resumer));
        feed.listener("r1").onStart(5); // warm-up from a recent offset
        read("r1", 5, 6, 7, 8, 9);
        feed.listener("r1").onReady(10);
        read("r1", 10);

        assertThat(resumer.timeline()).containsExactly("joined:9:true", "8", "9", "10");
    }

    @Test
    void aReplayLargerThanTheViewerMayQueueIsNotRecovered() {
        RoomRegistry limited = registry(100, Duration.ofSeconds(10), 2);
        subscribe(limited.join("r1", null, new RecordingViewer()));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        read("r1", 0, 1, 2, 3);

        RecordingViewer resumer = new RecordingViewer();
        subscribe(limited.join("r1", 0L, resumer));

        assertThat(resumer.timeline()).containsExactly("joined:3:false");
    }

    @Test
    void everyViewerGetsTheSameBatchEncodedOncePerCodecInUse() {
        RecordingViewer a = new RecordingViewer();
        RecordingViewer b = new RecordingViewer();
        subscribe(registry.join("r1", null, a));
        subscribe(registry.join("r1", null, b));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        read("r1", 0);

        SharedBatch forA = (SharedBatch) a.received.get(1);
        SharedBatch forB = (SharedBatch) b.received.get(1);
        assertThat(forA).isSameAs(forB);
        assertThat(forA.isEncodedFor(json)).isFalse();
        assertThat(forA.bytes(json)).isSameAs(forB.bytes(json));
        assertThat(forA.isEncodedFor(cbor)).as("no viewer uses CBOR").isFalse();
        assertThat(forA.batch().seq()).isZero();
    }

    @Test
    void theLastLeaveRemovesTheRoomAndStopsItsFeed() {
        RecordingViewer a = new RecordingViewer();
        RecordingViewer b = new RecordingViewer();
        subscribe(registry.join("r1", null, a));
        subscribe(registry.join("r1", null, b));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        assertThat(registry.viewerCount("r1")).isEqualTo(2);

        registry.leave("r1", a);
        assertThat(registry.roomCount()).isOne();
        assertThat(feed.disposed).containsEntry("r1", false);

        registry.leave("r1", b);
        assertThat(registry.roomCount()).isZero();
        assertThat(feed.disposed).containsEntry("r1", true);

        RecordingViewer c = new RecordingViewer();
        subscribe(registry.join("r1", null, c));
        assertThat(feed.follows).as("a new room, a new follow").containsEntry("r1", 2);
    }

    @Test
    void aLeftViewerGetsNoMoreBatches() {
        RecordingViewer a = new RecordingViewer();
        RecordingViewer b = new RecordingViewer();
        subscribe(registry.join("r1", null, a));
        subscribe(registry.join("r1", null, b));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        read("r1", 0);
        registry.leave("r1", a);
        read("r1", 1);

        assertThat(a.seqs()).containsExactly(0L);
        assertThat(b.seqs()).containsExactly(0L, 1L);
    }

    @Test
    void leavingWhileTheJoinWaitsCompletesItWithoutJoined() {
        RecordingViewer viewer = new RecordingViewer();
        StepVerifier.create(registry.join("r1", null, viewer))
                .then(() -> registry.leave("r1", viewer))
                .expectComplete()
                .verify(VERIFY);
        assertThat(viewer.received).isEmpty();
        assertThat(registry.roomCount()).isZero();
        assertThat(feed.disposed).containsEntry("r1", true);
    }

    @Test
    void aJoinWhoseRoomNeverCatchesUpTimesOutAndTheRoomGoes() {
        RoomRegistry impatient = registry(100, Duration.ofMillis(100), 1000);
        StepVerifier.create(impatient.join("r1", null, new RecordingViewer()))
                .expectError(RoomRegistry.JoinTimeoutException.class)
                .verify(VERIFY);
        assertThat(impatient.roomCount()).isZero();
        assertThat(feed.disposed).containsEntry("r1", true);
    }

    @Test
    void aViewerThatCannotTakeTheJoinedFrameIsNotAdded() {
        subscribe(registry.join("r1", null, new RecordingViewer()));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);

        RoomViewer full = item -> false;
        subscribe(registry.join("r1", null, full));
        assertThat(registry.viewerCount("r1")).isOne();
    }

    @Test
    void undecodableRecordsAreSkippedAndTheSeqStillAdvances() {
        RecordingViewer viewer = new RecordingViewer();
        subscribe(registry.join("r1", null, viewer));
        feed.listener("r1").onStart(0);
        feed.listener("r1").onReady(0);
        feed.listener("r1").onRecords(List.of(new RoomFeed.FeedRecord(0, NOW, "not json".getBytes())), 1);
        read("r1", 1);
        assertThat(viewer.seqs()).containsExactly(1L);
        assertThat(registry.latestSeq("r1")).isEqualTo(1L);
    }

    @Test
    void cancellingAWaitingJoinDropsIt() {
        Disposable join = subscribe(registry.join("r1", null, new RecordingViewer()));
        join.dispose();
        assertThat(registry.roomCount()).isZero();
        assertThat(feed.disposed).containsEntry("r1", true);
    }
}
