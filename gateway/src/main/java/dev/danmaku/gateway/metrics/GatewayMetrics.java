package dev.danmaku.gateway.metrics;

import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.gateway.room.kafka.KafkaRoomFeed;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.FrameCodec;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's traffic metrics (names agreed in {@code docs/gateway.md}, "Metrics"; Prometheus
 * renders {@code danmaku.gateway.frames.out} as {@code danmaku_gateway_frames_out_total}).
 *
 * <p>Everything a viewer is sent is counted once, where its bytes are handed to the socket: a
 * connection gets its codec's {@link Writer} once and calls {@link Writer#written} for each
 * frame it writes. That call allocates nothing (meters are resolved per codec up front) and costs
 * a few striped-counter increments, plus one histogram sample per batch with comments.
 *
 * <ul>
 *   <li>{@value #FRAMES_OUT}, {@value #BYTES_OUT} (tag {@code codec}: {@code json}, {@code cbor},
 *       {@code sse}): data frames (not PINGs) and their payload bytes.</li>
 *   <li>{@value #DELIVERIES}: comments written to viewers: a batch of {@code n} comments written to
 *       {@code v} viewers adds {@code n × v}.</li>
 *   <li>{@value #LATENCY}: for each batch with comments written to a viewer, the age of its oldest
 *       comment: from when a gateway accepted it ({@code BatchComment.ts}, the {@code Ingress}
 *       timestamp the aggregator carries over) to now. Across nodes it includes their clock skew
 *       (negative ages count as 0); batches replayed on a resume count with their real age.</li>
 *   <li>{@value #JOINS}: {@code joined} frames written.</li>
 *   <li>{@value #DROPS} (tag {@code reason}): frames refused with an {@code error} (the reason is
 *       the protocol's error code: {@code rate_limited}, {@code bad_request}, {@code too_long},
 *       {@code unavailable}, ...), and {@code slow}: comments a lagging viewer was not sent.</li>
 *   <li>{@value #BATCHES} and {@value #CONSUMER_LAG}: batches read from the room topics, and how
 *       many committed records the room feed's consumer is behind, summed over its topics.</li>
 * </ul>
 *
 * Thread-safe.
 */
public final class GatewayMetrics {

    public static final String JOINS = "danmaku.gateway.joins";
    public static final String FRAMES_OUT = "danmaku.gateway.frames.out";
    public static final String BYTES_OUT = "danmaku.gateway.bytes.out";
    public static final String BATCHES = "danmaku.gateway.batches";
    public static final String DELIVERIES = "danmaku.gateway.deliveries";
    public static final String DROPS = "danmaku.gateway.drops";
    public static final String LATENCY = "danmaku.gateway.latency";
    public static final String CONSUMER_LAG = "danmaku.gateway.consumer.lag";

    /** The {@code reason} of comments not sent to lagging viewers. */
    public static final String SLOW = "slow";
    /** The {@code codec} tag of Server-Sent Events. */
    public static final String SSE = "sse";

    private static final String DROPS_DESCRIPTION =
            "frames refused (reason = error code) and comments not sent to lagging viewers (slow)";

    /** Bucket bounds of the latency histogram: around a window (~100 ms) up to a broken pipeline. */
    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(150),
            Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(500), Duration.ofMillis(750),
            Duration.ofSeconds(1), Duration.ofMillis(1500), Duration.ofSeconds(2), Duration.ofSeconds(3),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};

    private final MeterRegistry registry;
    private final Clock clock;
    private final Counter joins;
    private final Counter deliveries;
    private final Timer latency;
    /** By {@link ErrorCode#ordinal()}. */
    private final Counter[] refused;
    private final ConcurrentMap<String, Writer> writers = new ConcurrentHashMap<>();

    public GatewayMetrics(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.joins = Counter.builder(JOINS).description("joined frames written (room joins answered)")
                .register(registry);
        this.deliveries = Counter.builder(DELIVERIES)
                .description("comments written to viewers (comments of a batch x viewers it was written to)")
                .register(registry);
        this.latency = Timer.builder(LATENCY)
                .description("age of a batch's oldest comment when written to a viewer (accepted at a gateway -> written)")
                .serviceLevelObjectives(LATENCY_BUCKETS)
                .register(registry);
        ErrorCode[] codes = ErrorCode.values();
        this.refused = new Counter[codes.length];
        for (ErrorCode code : codes) {
            refused[code.ordinal()] = drops(code.wire());
        }
    }

    /** Metrics that go nowhere, for code paths built without a registry (unit tests). */
    public static GatewayMetrics unregistered() {
        return new GatewayMetrics(new SimpleMeterRegistry(), Clock.systemUTC());
    }

    /** The writer of frames in this codec (one per codec; cheap to call once per connection). */
    public Writer writer(FrameCodec codec) {
        String subprotocol = codec.subprotocol();
        return writer(subprotocol.substring(subprotocol.lastIndexOf('.') + 1));
    }

    /** The writer of frames tagged with this codec name ({@link #SSE} for Server-Sent Events). */
    public Writer writer(String codecName) {
        return writers.computeIfAbsent(codecName, Writer::new);
    }

    /** Counts a send refused outside a connection's frames (HTTP sends), by its error code. */
    public void refused(ErrorCode code) {
        refused[code.ordinal()].increment();
    }

    /** The room feed's batches read and consumer lag. */
    public static MeterBinder feedMetrics(KafkaRoomFeed feed) {
        return registry -> {
            FunctionCounter.builder(BATCHES, feed, KafkaRoomFeed::batchesRead)
                    .description("batches read from the room topics").register(registry);
            Gauge.builder(CONSUMER_LAG, feed, KafkaRoomFeed::lag)
                    .description("committed records the room feed's consumer is behind, summed over its room topics")
                    .register(registry);
        };
    }

    /** The comments the slow-viewer policy did not send, as drops with reason {@value #SLOW}. */
    public static MeterBinder slowDrops(OutboundStats stats) {
        return registry -> FunctionCounter.builder(DROPS, stats, OutboundStats::droppedComments).tag("reason", SLOW)
                .description(DROPS_DESCRIPTION).register(registry);
    }

    private Counter drops(String reason) {
        return Counter.builder(DROPS).tag("reason", reason).description(DROPS_DESCRIPTION).register(registry);
    }

    private void delivered(ServerFrame.Batch batch) {
        List<ServerFrame.BatchComment> comments = batch.comments();
        int count = comments.size();
        if (count == 0) {
            return;
        }
        long oldest = Long.MAX_VALUE;
        for (int i = 0; i < count; i++) { // by index: no iterator per viewer
            oldest = Math.min(oldest, comments.get(i).ts());
        }
        deliveries.increment(count);
        latency.record(Math.max(0, clock.millis() - oldest), TimeUnit.MILLISECONDS);
    }

    /** Counts what one codec's connections write. Thread-safe; allocates nothing per call. */
    public final class Writer {

        private final Counter frames;
        private final Counter bytes;

        private Writer(String codec) {
            this.frames = Counter.builder(FRAMES_OUT).tag("codec", codec)
                    .description("data frames written to viewers").register(registry);
            this.bytes = Counter.builder(BYTES_OUT).tag("codec", codec)
                    .description("payload bytes written to viewers").register(registry);
        }

        /** A frame of {@code size} payload bytes is being written to a viewer. */
        public void written(Outbound item, int size) {
            frames.increment();
            bytes.increment(size);
            if (item instanceof SharedBatch shared) {
                delivered(shared.batch());
            } else if (item instanceof Outbound.Frame own) {
                ServerFrame frame = own.frame();
                if (frame instanceof ServerFrame.Batch batch) { // a batch with this viewer's dropped count
                    delivered(batch);
                } else if (frame instanceof ServerFrame.Joined) {
                    joins.increment();
                } else if (frame instanceof ServerFrame.Error error) {
                    refused(error.code());
                }
            }
        }
    }
}
