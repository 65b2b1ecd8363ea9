package dev.danmaku.jmh;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * A room's batch of 35 comments on its way to viewers: decoded once from the room topic, then
 * encoded once per codec ({@link SharedBatch}). Baseline: a default Jackson {@link ObjectMapper}
 * writing the same object (what any Jackson-based server would spend).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class BatchEncodingBenchmark {

    private final JsonFrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final CborFrameCodec cbor = new CborFrameCodec(Limits.DEFAULTS);
    private final ObjectMapper plainJackson = JsonMapper.builder().build();
    private final BusCodec bus = new BusCodec();
    private final Codecs codecs = new Codecs(List.of(json, cbor));
    private ServerFrame.Batch batch;
    private ServerFrame.Batch batchWithTotals;
    private byte[] onTopic;

    @Setup
    public void setUp() {
        batch = Fixtures.batch();
        batchWithTotals = Fixtures.batchWithTotals();
        onTopic = bus.encodeBatch(batch);
        System.out.printf("%n[sizes] batch of %d comments: JSON %d bytes, CBOR %d bytes, on the room topic %d bytes;"
                        + " with totals: JSON %d, CBOR %d%n", batch.comments().size(), json.encode(batch).length,
                cbor.encode(batch).length, onTopic.length, json.encode(batchWithTotals).length,
                cbor.encode(batchWithTotals).length);
    }

    /** Baseline: a default Jackson mapper writes the same batch as JSON. */
    @Benchmark
    public byte[] jacksonDefaultMapperJson() {
        return plainJackson.writeValueAsBytes(batch);
    }

    @Benchmark
    public byte[] encodeJson() {
        return json.encode(batch);
    }

    @Benchmark
    public byte[] encodeCbor() {
        return cbor.encode(batch);
    }

    @Benchmark
    public byte[] encodeJsonWithTotals() {
        return json.encode(batchWithTotals);
    }

    /** The gateway reads each batch once from its room topic. */
    @Benchmark
    public ServerFrame.Batch decodeFromRoomTopic() {
        return bus.decodeBatch(onTopic);
    }

    /** The gateway's whole per-batch cost: decode from the topic, wrap, encode once per codec. */
    @Benchmark
    public byte[] roomTopicToBothCodecs() {
        SharedBatch shared = new SharedBatch(bus.decodeBatch(onTopic).withSeq(1_240), 0L, codecs);
        shared.bytes(json);
        return shared.bytes(cbor);
    }
}
