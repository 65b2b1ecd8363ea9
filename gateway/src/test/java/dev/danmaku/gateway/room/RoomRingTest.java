package dev.danmaku.gateway.room;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RoomRingTest {

    private final Codecs codecs = new Codecs(List.of(new JsonFrameCodec(Limits.DEFAULTS)));

    private SharedBatch batch(long seq, long ts) {
        return new SharedBatch(ServerFrame.Batch.ofComments("r1", ts, List.of(), 0).withSeq(seq), ts, codecs);
    }

    private static List<Long> seqs(List<SharedBatch> batches) {
        return batches.stream().map(SharedBatch::seq).toList();
    }

    @Test
    void replaysEveryBatchAfterSinceInOrder() {
        RoomRing ring = new RoomRing(100, Duration.ofMinutes(2), 0);
        for (long seq : new long[] {0, 2, 4, 5}) { // gaps: transaction markers take offsets
            ring.add(batch(seq, 1000), 1000);
        }
        assertThat(seqs(ring.after(2, 1000))).containsExactly(4L, 5L);
        assertThat(seqs(ring.after(3, 1000))).containsExactly(4L, 5L);
        assertThat(seqs(ring.after(-1, 1000))).containsExactly(0L, 2L, 4L, 5L);
        assertThat(ring.after(5, 1000)).isEmpty();
    }

    @Test
    void cannotReplayWhatWasEvictedByCount() {
        RoomRing ring = new RoomRing(3, Duration.ofMinutes(2), 0);
        for (long seq = 0; seq < 6; seq++) {
            ring.add(batch(seq, 1000), 1000);
        }
        assertThat(ring.size()).isEqualTo(3);
        assertThat(ring.after(1, 1000)).as("batch 2 was evicted").isNull();
        assertThat(seqs(ring.after(2, 1000))).containsExactly(3L, 4L, 5L);
    }

    @Test
    void batchesOlderThanTheMaxAgeAreEvicted() {
        RoomRing ring = new RoomRing(100, Duration.ofSeconds(10), 0);
        ring.add(batch(0, 1_000), 1_000);
        ring.add(batch(1, 5_000), 5_000);
        assertThat(ring.after(-1, 12_000)).as("batch 0 is 11 s old").isNull();
        assertThat(seqs(ring.after(0, 12_000))).containsExactly(1L);
    }

    @Test
    void aRingWarmedFromAnOffsetCannotReplayBeforeIt() {
        RoomRing ring = new RoomRing(100, Duration.ofMinutes(2), 0);
        ring.reset(40);
        ring.add(batch(41, 1000), 1000);
        assertThat(ring.after(38, 1000)).isNull();
        assertThat(seqs(ring.after(39, 1000))).containsExactly(41L);
    }
}
