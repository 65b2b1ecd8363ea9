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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gateway's traffic metrics (every one described in {@code docs/operations.md}; Prometheus
 * renders {@code danmaku.gateway.frames.out} as {@code danmaku_gateway_frames_out_total}).
 *
 * <p>Everything a viewer is sent is counted once, where its bytes are handed to the socket: a
 * connection gets a {@link Writer} of its codec and calls {@link Writer#written} for each frame
 * it writes. That call allocates nothing and costs a few striped-counter increments; one batch
 * with comments in {@value #LATENCY_STRIDE} per connection is also a latency sample.
 *
 * <ul>
 *   <li>{@value #FRAMES_OUT}, {@value #BYTES_OUT} (tag {@code codec}: {@code json}, {@code cbor},
 *       {@code sse}): data frames (not PINGs) and their payload bytes.</li>
 *   <li>{@value #DELIVERIES}: comments written to viewers: a batch of {@code n} comments written to
 *       {@code v} viewers adds {@code n × v}.</li>
 *   <li>{@value #LATENCY}: for a batch with comments written to a viewer (one in
 *       {@value #LATENCY_STRIDE} per connection), the age of its oldest comment: from when a
 *       gateway accepted it ({@code BatchComment.ts}, the {@code Ingress} timestamp the aggregator
 *       carries over) to now. Across nodes it includes their clock skew (negative ages count as
 *       0); batches replayed on a resume count with their real age.</li>
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

    /** One viewer-batch in this many is a latency sample (per connection). */
    public static final int LATENCY_STRIDE = 8;

    /** Bucket bounds of the latency histogram: around a window (~100 ms) up to a broken pipeline. */
    private static final Duration[] LATENCY_BUCKETS = {
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(150),
            Duration.ofMillis(200), Duration.ofMillis(300), Duration.ofMillis(500), Duration.ofMillis(750),
            Duration.ofSeconds(1), Duration.ofMillis(1500), Duration.ofSeconds(2), Duration.ofSeconds(3),
            Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};

    private final MeterRegistry registry;
    private final Clock clock;
    private final Counter joins;
    private final LongAdder deliveries = new LongAdder();
    private final Timer latency;
    /** By {@link ErrorCode#ordinal()}. */
    private final Counter[] refused;
    private final ConcurrentMap<String, CodecMeters> codecs = new ConcurrentHashMap<>();

    public GatewayMetrics(MeterRegistry registry, Clock clock) {
        this.registry = registry;
        this.clock = clock;
        this.joins = Counter.builder(JOINS).description("joined frames written (room joins answered)")
                .register(registry);
        FunctionCounter.builder(DELIVERIES, deliveries, LongAdder::sum)
                .description("comments written to viewers (comments of a batch x viewers it was written to)")
                .register(registry);
        this.latency = Timer.builder(LATENCY)
                .description("age of a batch's oldest comment when written to a viewer (accepted at a gateway -> written),"
                        + " one viewer-batch in " + LATENCY_STRIDE)
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

    /** A writer for one connection speaking this codec (a small object; its meters are shared). */
    public Writer writer(FrameCodec codec) {
        return writer(codecName(codec));
    }

    /** A writer for one stream of frames tagged with this codec name ({@link #SSE} for Server-Sent Events). */
    public Writer writer(String codecName) {
        return new Writer(codecs.computeIfAbsent(codecName, CodecMeters::new));
    }

    /** Registers a codec's series now (at 0), rather than at its first connection. */
    public void register(String codecName) {
        codecs.computeIfAbsent(codecName, CodecMeters::new);
    }

    /** The {@code codec} tag of a WebSocket subprotocol: {@code danmaku.v1.json} is {@code json}. */
    public static String codecName(FrameCodec codec) {
        String subprotocol = codec.subprotocol();
        return subprotocol.substring(subprotocol.lastIndexOf('.') + 1);
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

    private void sampleLatency(List<ServerFrame.BatchComment> comments) {
        long oldest = Long.MAX_VALUE;
        for (int i = 0; i < comments.size(); i++) { // by index: no iterator
            oldest = Math.min(oldest, comments.get(i).ts());
        }
        latency.record(Math.max(0, clock.millis() - oldest), TimeUnit.MILLISECONDS);
    }

    /** A codec's frame and byte counts, shared by its connections. */
    private final class CodecMeters {

        final LongAdder frames = new LongAdder();
        final LongAdder bytes = new LongAdder();

        CodecMeters(String codec) {
            FunctionCounter.builder(FRAMES_OUT, frames, LongAdder::sum).tag("codec", codec)
                    .description("data frames written to viewers").register(registry);
            FunctionCounter.builder(BYTES_OUT, bytes, LongAdder::sum).tag("codec", codec)
                    .description("payload bytes written to viewers").register(registry);
        }
    }

    /**
     * Counts what one connection (or SSE stream) writes. Its calls must not overlap (a
     * connection writes one frame at a time); it allocates nothing per call. Frames, bytes and
     * deliveries are striped counters ({@link LongAdder}); the latency histogram, the costly
     * part (a clock read and a bucket search), is sampled: one batch with comments in
     * {@value #LATENCY_STRIDE} per connection, from a random start, which keeps the percentiles
     * of all (viewer, batch) pairs.
     */
    public final class Writer {

        private final CodecMeters meters;
        /** Batches with comments written, from a random start: sampled when a multiple of the stride. */
        private int batches = ThreadLocalRandom.current().nextInt(LATENCY_STRIDE);

        private Writer(CodecMeters meters) {
            this.meters = meters;
        }

        /** A frame of {@code size} payload bytes is being written to the viewer. */
        public void written(Outbound item, int size) {
            meters.frames.increment();
            meters.bytes.add(size);
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

        private void delivered(ServerFrame.Batch batch) {
            List<ServerFrame.BatchComment> comments = batch.comments();
            if (comments.isEmpty()) {
                return;
            }
            deliveries.add(comments.size());
            if (batches++ % LATENCY_STRIDE == 0) {
                sampleLatency(comments);
            }
        }
    }
}
