package dev.danmaku.jmh;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.nio.charset.StandardCharsets;
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
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.cbor.CBORMapper;

/**
 * What a send costs on its way in: the gateway decodes and validates the client's frame (JSON or
 * CBOR), encodes it as an {@link Ingress} record for the ingress topic, and the aggregator decodes
 * that record. Baseline: a default Jackson mapper parsing the same bytes into a tree (parsing
 * alone, no validation, no records).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class IngressCodecBenchmark {

    private final JsonFrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final CborFrameCodec cbor = new CborFrameCodec(Limits.DEFAULTS);
    private final BusCodec bus = new BusCodec();
    private final ObjectMapper plainJackson = JsonMapper.builder().build();
    private byte[] commentJson;
    private byte[] commentCbor;
    private byte[] giftJson;
    private Ingress ingress;
    private byte[] ingressRecord;

    @Setup
    public void setUp() {
        commentJson = Fixtures.commentJson().getBytes(StandardCharsets.UTF_8);
        giftJson = Fixtures.giftJson().getBytes(StandardCharsets.UTF_8);
        // the same comment object in CBOR, as a client speaking danmaku.v1.cbor sends it
        commentCbor = CBORMapper.builder().build().writeValueAsBytes(plainJackson.readTree(commentJson));
        ingress = Fixtures.ingress();
        ingressRecord = bus.encodeIngress(ingress);
    }

    /** Baseline: parse the comment's JSON into a tree, nothing else. */
    @Benchmark
    public JsonNode jacksonTreeParseJson() {
        return plainJackson.readTree(commentJson);
    }

    @Benchmark
    public ClientFrame decodeCommentJson() {
        return json.decode(commentJson);
    }

    @Benchmark
    public ClientFrame decodeCommentCbor() {
        return cbor.decode(commentCbor);
    }

    @Benchmark
    public ClientFrame decodeGiftJson() {
        return json.decode(giftJson);
    }

    @Benchmark
    public byte[] encodeIngressRecord() {
        return bus.encodeIngress(ingress);
    }

    @Benchmark
    public Ingress decodeIngressRecord() {
        return bus.decodeIngress(ingressRecord);
    }
}
