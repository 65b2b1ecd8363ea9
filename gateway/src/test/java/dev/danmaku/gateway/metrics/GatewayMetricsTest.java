package dev.danmaku.gateway.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GatewayMetricsTest {

    private static final long NOW = 1_732_230_000_000L;

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final GatewayMetrics metrics = new GatewayMetrics(registry,
            Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC));
    private final JsonFrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final Codecs codecs = new Codecs(List.of(json, new CborFrameCodec(Limits.DEFAULTS)));

    private SharedBatch batch(long seq, long... commentTimes) {
        List<ServerFrame.BatchComment> comments = new ArrayList<>();
        for (long ts : commentTimes) {
            comments.add(new ServerFrame.BatchComment("c" + comments.size(), new User("u1", "Ann"), "hi", "#ffffff",
                    Mode.SCROLL, ts));
        }
        return new SharedBatch(ServerFrame.Batch.ofComments("r1", NOW, comments, 0).withSeq(seq), NOW, codecs);
    }

    private double counter(String name, String... tags) {
        return registry.get(name).tags(tags).functionCounter().count();
    }

    @Test
    void framesAndBytesAreCountedByCodecAndDeliveriesByCommentsWritten() {
        GatewayMetrics.Writer viewer1 = metrics.writer(json);
        GatewayMetrics.Writer viewer2 = metrics.writer(json);
        GatewayMetrics.Writer sse = metrics.writer(GatewayMetrics.SSE);
        SharedBatch three = batch(0, NOW - 10, NOW - 20, NOW - 30);
        viewer1.written(three, 100);
        viewer2.written(three, 100);
        sse.written(three, 100);
        viewer1.written(batch(2), 40); // a batch without comments delivers none

        assertThat(counter(GatewayMetrics.FRAMES_OUT, "codec", "json")).isEqualTo(3);
        assertThat(counter(GatewayMetrics.BYTES_OUT, "codec", "json")).isEqualTo(240);
        assertThat(counter(GatewayMetrics.FRAMES_OUT, "codec", "sse")).isEqualTo(1);
        assertThat(counter(GatewayMetrics.DELIVERIES)).as("3 comments x 3 viewers").isEqualTo(9);
    }

    @Test
    void joinedFramesAreJoinsAndErrorFramesAreDropsByTheirCode() {
        GatewayMetrics.Writer writer = metrics.writer(json);
        writer.written(Outbound.of(ServerFrame.Joined.of("r1", 4, false)), 30);
        writer.written(Outbound.of(ServerFrame.Error.of(ErrorCode.RATE_LIMITED, "c1")), 30);
        writer.written(Outbound.of(ServerFrame.Error.of(ErrorCode.RATE_LIMITED, "c2")), 30);
        metrics.refused(ErrorCode.UNAVAILABLE); // an HTTP send

        assertThat(registry.get(GatewayMetrics.JOINS).counter().count()).isEqualTo(1);
        assertThat(registry.get(GatewayMetrics.DROPS).tag("reason", "rate_limited").counter().count()).isEqualTo(2);
        assertThat(registry.get(GatewayMetrics.DROPS).tag("reason", "unavailable").counter().count()).isEqualTo(1);
        assertThat(registry.get(GatewayMetrics.DROPS).tag("reason", "bad_request").counter().count()).isZero();
    }

    @Test
    void latencyIsTheAgeOfTheOldestCommentSampledOnceInEveryStrideOfBatchesPerConnection() {
        GatewayMetrics.Writer writer = metrics.writer(json);
        for (int i = 0; i < GatewayMetrics.LATENCY_STRIDE * 3; i++) {
            writer.written(batch(i, NOW - 40, NOW - 250, NOW - 90), 100);
        }
        var latency = registry.get(GatewayMetrics.LATENCY).timer();
        assertThat(latency.count()).isEqualTo(3);
        assertThat(latency.max(TimeUnit.MILLISECONDS)).as("the oldest of the batch").isEqualTo(250);
        assertThat(latency.mean(TimeUnit.MILLISECONDS)).isEqualTo(250);
    }

    @Test
    void aCommentFromAClockAheadCountsAsNoDelayNotANegativeOne() {
        GatewayMetrics.Writer writer = metrics.writer(json);
        for (int i = 0; i < GatewayMetrics.LATENCY_STRIDE; i++) {
            writer.written(batch(i, NOW + 500), 100);
        }
        assertThat(registry.get(GatewayMetrics.LATENCY).timer().max(TimeUnit.MILLISECONDS)).isZero();
    }
}
