package dev.danmaku.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import reactor.test.subscriber.TestSubscriber;

class OutboxTest {

    private final Codecs codecs = new Codecs(List.of(new JsonFrameCodec(Limits.DEFAULTS)));
    private final OutboundStats stats = new OutboundStats();
    private long now = 1_000;
    private final Outbox outbox = new Outbox(4, 2, () -> now, stats);
    /** The connection's writer, taking items only when the test asks. */
    private final TestSubscriber<Outbound> reader = TestSubscriber.<Outbound>builder().initialRequest(0).build();

    {
        outbox.flux().subscribe(reader);
    }

    private List<Outbound> read(int n) {
        int before = reader.getReceivedOnNext().size();
        reader.request(n);
        List<Outbound> all = reader.getReceivedOnNext();
        assertThat(all).hasSize(before + n);
        return all.subList(before, before + n);
    }

    private SharedBatch comments(String room, long seq, int count) {
        List<ServerFrame.BatchComment> list = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            list.add(new ServerFrame.BatchComment("c" + seq + "-" + i, new User("u1", "A"), "hi", "#ffffff",
                    Mode.SCROLL, 1));
        }
        return new SharedBatch(ServerFrame.Batch.ofComments(room, 1, list, 1).withSeq(seq), 1, codecs);
    }

    private SharedBatch gift(String room, long seq) {
        ServerFrame.Batch batch = new ServerFrame.Batch(room, seq, 1,
                List.of(new ServerFrame.BatchComment("c", new User("u1", "A"), "hi", "#ffffff", Mode.SCROLL, 1)),
                null, List.of(new ServerFrame.GiftEntry(new User("u2", "B"), "rose", 1, 10, 1)), null, 0,
                new ServerFrame.Totals(Map.of("rose", new ServerFrame.GiftTotal(1, 10)), null));
        return new SharedBatch(batch, 1, codecs);
    }

    @Test
    void aQueueWithRoomTakesEverythingAsItIs() {
        SharedBatch batch = comments("r1", 1, 2);
        assertThat(outbox.offer(batch)).isEqualTo(Outbox.Result.QUEUED);
        assertThat(outbox.lagging(now)).isZero();
        assertThat(read(1)).containsExactly(batch);
    }

    @Test
    void aFullQueueSkipsCommentBatchesAndTheNextBatchSentCountsTheirComments() {
        for (int i = 0; i < 4; i++) {
            assertThat(outbox.offer(comments("r1", i, 1))).isEqualTo(Outbox.Result.QUEUED);
        }
        assertThat(outbox.offer(comments("r1", 4, 3))).isEqualTo(Outbox.Result.SKIPPED);
        assertThat(outbox.offer(comments("r1", 5, 2))).isEqualTo(Outbox.Result.SKIPPED);
        assertThat(stats.skippedBatches()).isEqualTo(2);
        assertThat(stats.droppedComments()).as("their comments, the slow drops of the metrics").isEqualTo(5);
        now += 500;
        assertThat(outbox.lagging(now)).isEqualTo(500);

        // the reader catches up (to half the capacity or less): the next batch says what was skipped
        read(4);
        assertThat(outbox.lagging(now)).isZero();
        assertThat(outbox.offer(comments("r1", 6, 1))).isEqualTo(Outbox.Result.QUEUED);
        ServerFrame.Batch batch = (ServerFrame.Batch) ((Outbound.Frame) read(1).get(0)).frame();
        assertThat(batch.seq()).isEqualTo(6);
        assertThat(batch.comments()).hasSize(1);
        assertThat(batch.dropped()).as("its own 1 plus 5 skipped").isEqualTo(6);
    }

    @Test
    void whileLaggingGiftsAndTotalsStillGoWithoutTheirComments() {
        for (int i = 0; i < 4; i++) {
            outbox.offer(comments("r1", i, 1));
        }
        assertThat(outbox.offer(comments("r1", 4, 2))).isEqualTo(Outbox.Result.SKIPPED);
        assertThat(outbox.offer(gift("r1", 5))).isEqualTo(Outbox.Result.QUEUED);
        assertThat(stats.strippedBatches()).isOne();
        ServerFrame.Batch batch = (ServerFrame.Batch) ((Outbound.Frame) read(5).get(4)).frame();
        assertThat(batch.comments()).isEmpty();
        assertThat(batch.gifts()).hasSize(1);
        assertThat(batch.totals()).isNotNull();
        assertThat(batch.dropped()).as("2 skipped, 1 stripped").isEqualTo(3);
        assertThat(stats.droppedComments()).isEqualTo(3);
    }

    @Test
    void ownFramesUseTheHeadroomThenOverflow() {
        for (int i = 0; i < 4; i++) {
            outbox.offer(comments("r1", i, 1));
        }
        ServerFrame ack = new ServerFrame.Ack("c-1");
        assertThat(outbox.offer(Outbound.of(ack))).isEqualTo(Outbox.Result.QUEUED);
        assertThat(outbox.offer(Outbound.of(ack))).isEqualTo(Outbox.Result.QUEUED);
        assertThat(outbox.offer(Outbound.of(ack))).isEqualTo(Outbox.Result.OVERFLOW);
        assertThat(outbox.size()).isEqualTo(6);
    }

    @Test
    void skipsInARoomLeftAreForgotten() {
        for (int i = 0; i < 4; i++) {
            outbox.offer(comments("r2", i, 1));
        }
        outbox.offer(comments("r1", 9, 2));
        outbox.forget("r1");
        read(4);
        outbox.offer(comments("r1", 10, 1));
        assertThat(read(1).get(0)).isInstanceOf(SharedBatch.class);
    }

    @Test
    void skipsAreOwedPerRoomUntilEachRoomsNextBatchAndCountFromZeroAfter() {
        for (int i = 0; i < 4; i++) {
            outbox.offer(comments("r0", i, 1));
        }
        assertThat(outbox.offer(comments("r1", 10, 2))).isEqualTo(Outbox.Result.SKIPPED);
        assertThat(outbox.offer(comments("r2", 20, 3))).isEqualTo(Outbox.Result.SKIPPED);
        read(4);
        outbox.offer(comments("r1", 11, 1));
        outbox.offer(comments("r2", 21, 1));
        outbox.offer(comments("r1", 12, 1));
        List<Outbound> sent = read(3);
        // each batch's own dropped (1) plus what was skipped in its room
        assertThat(((ServerFrame.Batch) ((Outbound.Frame) sent.get(0)).frame()).dropped()).isEqualTo(1 + 2);
        assertThat(((ServerFrame.Batch) ((Outbound.Frame) sent.get(1)).frame()).dropped()).isEqualTo(1 + 3);
        assertThat(sent.get(2)).as("nothing owed in r1 any more: the shared batch as it is").isInstanceOf(SharedBatch.class);

        // lagging again: the count starts from zero
        for (int i = 0; i < 4; i++) {
            outbox.offer(comments("r0", 30 + i, 1));
        }
        assertThat(outbox.offer(comments("r1", 13, 4))).isEqualTo(Outbox.Result.SKIPPED);
        read(4);
        outbox.offer(comments("r1", 14, 1));
        assertThat(((ServerFrame.Batch) ((Outbound.Frame) read(1).get(0)).frame()).dropped()).isEqualTo(1 + 4);
    }

    @Test
    void aWriterThatPollsHearsEachItemAndTakesThemInOrderPastAChunk() {
        Outbox polled = new Outbox(40, 4, () -> now, stats);
        List<Outbound> heard = new ArrayList<>();
        polled.writeTo(heard::add);
        List<SharedBatch> offered = new ArrayList<>();
        for (int i = 0; i < 40; i++) { // more than a chunk of the queue's storage
            SharedBatch batch = comments("r1", i, 1);
            offered.add(batch);
            assertThat(polled.offer(batch)).isEqualTo(Outbox.Result.QUEUED);
        }
        assertThat(heard).containsExactlyElementsOf(offered);
        assertThat(polled.size()).isEqualTo(40);
        assertThat(polled.offer(comments("r1", 40, 1))).as("full: skipped").isEqualTo(Outbox.Result.SKIPPED);
        List<Outbound> taken = new ArrayList<>();
        for (Outbound item = polled.poll(); item != null; item = polled.poll()) {
            taken.add(item);
        }
        assertThat(taken).containsExactlyElementsOf(offered);
        assertThat(polled.size()).isZero();
    }
}
