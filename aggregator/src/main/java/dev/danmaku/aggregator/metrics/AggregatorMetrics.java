package dev.danmaku.aggregator.metrics;

import dev.danmaku.aggregator.batch.RoomWindows.Outcome;
import dev.danmaku.protocol.ClientFrame;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * The aggregator's meters, under the names the dashboard and alerts use
 * ({@code danmaku.aggregator.*}; Prometheus renders {@code danmaku_aggregator_windows_total} and
 * so on). Counters are thread-safe; the gauges read values the loop thread sets.
 *
 * <p>Counts are of processing: records consumed again after an aborted transaction are counted
 * again ({@code ingress}, drops by rule), while {@code batches}, {@code drops{reason=density}}
 * and {@code windows{outcome=committed}} count only what was committed.
 */
public final class AggregatorMetrics {

    /** Meters in a registry of their own (tests, or an application without Micrometer's registry). */
    public static AggregatorMetrics standalone() {
        return new AggregatorMetrics(new SimpleMeterRegistry());
    }

    private final MeterRegistry registry;
    private final Counter committed;
    private final Counter aborted;
    private final Counter batches;
    private final Counter topicsCreated;
    private final Counter topicsDeleted;
    private final Counter densityDrops;
    private final Map<Outcome, Counter> dropsByOutcome = new EnumMap<>(Outcome.class);
    private final Counter comments;
    private final Counter likes;
    private final Counter gifts;
    private final Counter mutes;
    private final Timer windowDuration;
    private final AtomicLong rooms = new AtomicLong();
    private final AtomicLong lag = new AtomicLong();

    public AggregatorMetrics(MeterRegistry registry) {
        this.registry = registry;
        committed = windows(registry, "committed");
        aborted = windows(registry, "aborted");
        batches = Counter.builder("danmaku.aggregator.batches")
                .description("batches published to room topics (committed)").register(registry);
        topicsCreated = Counter.builder("danmaku.aggregator.topics.creations")
                .description("room topics created").register(registry);
        topicsDeleted = Counter.builder("danmaku.aggregator.topics.deletions")
                .description("room topics deleted after the room was idle").register(registry);
        densityDrops = drops(registry, "density");
        dropsByOutcome.put(Outcome.RATE_LIMITED, drops(registry, "rate_limited"));
        dropsByOutcome.put(Outcome.REPEATED, drops(registry, "duplicate_text"));
        dropsByOutcome.put(Outcome.DUPLICATE, drops(registry, "duplicate_id"));
        dropsByOutcome.put(Outcome.BLOCKED, drops(registry, "blocked"));
        dropsByOutcome.put(Outcome.MUTED, drops(registry, "muted"));
        comments = ingress(registry, "comment");
        likes = ingress(registry, "like");
        gifts = ingress(registry, "gift");
        mutes = ingress(registry, "mute");
        windowDuration = Timer.builder("danmaku.aggregator.window.duration")
                .description("one window's publication: the transaction from begin to commit")
                .publishPercentileHistogram()
                .register(registry);
        Gauge.builder("danmaku.aggregator.rooms", rooms, AtomicLong::get)
                .description("rooms whose state this aggregator holds in memory").register(registry);
        Gauge.builder("danmaku.aggregator.consumer.lag", lag, AtomicLong::get)
                .description("ingress records not yet consumed, over this aggregator's partitions")
                .register(registry);
    }

    /** The registry the meters live in. */
    public MeterRegistry registry() {
        return registry;
    }

    private static Counter windows(MeterRegistry registry, String outcome) {
        return Counter.builder("danmaku.aggregator.windows").tag("outcome", outcome)
                .description("window transactions, by outcome").register(registry);
    }

    private static Counter drops(MeterRegistry registry, String reason) {
        return Counter.builder("danmaku.aggregator.drops").tag("reason", reason)
                .description("comments and gifts left out, by rule").register(registry);
    }

    private static Counter ingress(MeterRegistry registry, String kind) {
        return Counter.builder("danmaku.aggregator.ingress").tag("kind", kind)
                .description("ingress records consumed, by kind").register(registry);
    }

    /** A record was judged. */
    public void ingress(ClientFrame frame, Outcome outcome) {
        @Nullable Counter kind = frame instanceof ClientFrame.Comment ? comments
                : frame instanceof ClientFrame.Like ? likes
                : frame instanceof ClientFrame.Gift ? gifts
                : frame instanceof ClientFrame.Mute ? mutes
                : null;
        if (kind != null) {
            kind.increment();
        }
        Counter drop = dropsByOutcome.get(outcome);
        if (drop != null) {
            drop.increment();
        }
    }

    /** A window's transaction committed, with its batches and the comments the density cap dropped. */
    public void committed(long nanos, int batchCount, long densityDropped) {
        committed.increment();
        windowDuration.record(nanos, TimeUnit.NANOSECONDS);
        batches.increment(batchCount);
        if (densityDropped > 0) {
            densityDrops.increment(densityDropped);
        }
    }

    public void aborted() {
        aborted.increment();
    }

    public void topicCreated() {
        topicsCreated.increment();
    }

    public void topicDeleted() {
        topicsDeleted.increment();
    }

    public void rooms(long inMemory) {
        rooms.set(inMemory);
    }

    public void lag(long records) {
        lag.set(records);
    }
}
