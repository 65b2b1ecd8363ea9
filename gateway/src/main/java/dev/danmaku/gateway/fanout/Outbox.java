package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.ServerFrame;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * One connection's outbound queue, with the slow-viewer policy: bounded, and degraded before
 * it overflows.
 *
 * <ul>
 *   <li>Up to {@code capacity} items queue normally.</li>
 *   <li>When a room's batch finds the queue at {@code capacity}, the viewer is <em>lagging</em>:
 *       from then on, until the queue has drained to half its capacity, comment batches are
 *       skipped. A batch that carries gifts or totals still goes, without its comments. The
 *       comments skipped in a room are added to the {@code dropped} of the next batch of that
 *       room this viewer is sent (that batch is then encoded for this viewer alone).</li>
 *   <li>The connection's own frames ({@code ack}, {@code error}, {@code joined}, ...) and the
 *       kept batches may use {@code headroom} more items; beyond that, {@link #offer} answers
 *       {@link Result#OVERFLOW} and the connection must close (1013).</li>
 *   <li>{@link #lagging(long)} tells how long the viewer has been lagging: the connection closes
 *       it (1013) once that exceeds its limit.</li>
 * </ul>
 *
 * <p>Any thread may offer (calls are serialized by this object's lock and never block); one
 * subscriber drains {@link #flux()}. Memory is bounded by {@code capacity + headroom} items,
 * whatever the traffic.
 */
public final class Outbox {

    /** What became of an offered item. */
    public enum Result {
        /** Queued as it is (or, for a batch, possibly stripped of its comments). */
        QUEUED,
        /** A comment batch skipped because the viewer lags; counted in the next batch's {@code dropped}. */
        SKIPPED,
        /** No room even for an essential frame: the connection must close. */
        OVERFLOW
    }

    private final BoundedQueue<Outbound> queue;
    /**
     * The queue as a Reactor stream, for a subscriber ({@link #flux()}); made when first needed.
     * A {@link ChannelWriter} polls the queue instead ({@link #writeTo}), and then there is none.
     * Guarded by {@code this}.
     */
    private Sinks.@Nullable Many<Outbound> sink;
    private final int capacity;
    private final int lowWater;
    private final LongSupplier nanoTime;
    private final OutboundStats stats;
    /**
     * Comments skipped per room, not yet reported in a batch; made at the first skip (most viewers
     * never lag), null again once nothing is owed. Guarded by {@code this}.
     */
    private @Nullable Map<String, Integer> skipped;
    /** {@link System#nanoTime()} when lagging started; meaningful while {@code lagging}. */
    private long laggingSince;
    private boolean lagging;
    /** Set by {@link #writeTo}: items then bypass the sink, and this hears each one queued. */
    private volatile @Nullable Consumer<Outbound> wake;

    /**
     * @param capacity items queued before comment batches are skipped
     * @param headroom further items allowed for essential frames and kept batches
     */
    public Outbox(int capacity, int headroom, LongSupplier nanoTime, OutboundStats stats) {
        if (capacity < 1 || headroom < 0) {
            throw new IllegalArgumentException("capacity >= 1, headroom >= 0");
        }
        this.capacity = capacity;
        this.lowWater = capacity / 2;
        this.nanoTime = nanoTime;
        this.stats = stats;
        this.queue = new BoundedQueue<>(capacity + headroom);
    }

    /** The queued items, for the connection's one writer. */
    public synchronized Flux<Outbound> flux() {
        return sink().asFlux();
    }

    private Sinks.Many<Outbound> sink() {
        Sinks.Many<Outbound> made = sink;
        if (made == null) {
            made = Sinks.many().unicast().onBackpressureBuffer(queue);
            sink = made;
        }
        return made;
    }

    /**
     * Hands the queue to a writer that {@link #poll}s it instead of subscribing to {@link #flux()}
     * (a {@link ChannelWriter}): {@code wake} hears each item queued, after it was. Call before the first offer.
     */
    public void writeTo(Consumer<Outbound> wake) {
        this.wake = wake;
    }

    /** The next item, for the one writer given to {@link #writeTo}; null when none waits. */
    public @Nullable Outbound poll() {
        return queue.poll();
    }

    /** Items waiting now. */
    public int size() {
        return queue.size();
    }

    /** Queues an item according to the policy above. Never blocks. */
    public synchronized Result offer(Outbound item) {
        int size = queue.size();
        if (lagging && size <= lowWater) {
            lagging = false;
        }
        if (!(item instanceof SharedBatch shared)) {
            return emit(item);
        }
        ServerFrame.Batch batch = shared.batch();
        if (!lagging && size < capacity) {
            Integer missed = takeSkipped(batch.room());
            if (missed == null) {
                return emit(shared);
            }
            return emit(Outbound.of(withDropped(batch, batch.comments(), missed)));
        }
        if (!lagging) {
            lagging = true;
            laggingSince = nanoTime.getAsLong();
            stats.lagStarted();
        }
        boolean essential = !batch.gifts().isEmpty() || batch.totals() != null;
        int comments = batch.comments().size();
        if (!essential) {
            Map<String, Integer> owed = skipped;
            if (owed == null) {
                owed = new HashMap<>();
                skipped = owed;
            }
            owed.merge(batch.room(), comments, Integer::sum);
            stats.batchSkipped(comments);
            return Result.SKIPPED;
        }
        Integer missed = takeSkipped(batch.room());
        stats.batchStripped(comments);
        return emit(Outbound.of(withDropped(batch, List.of(), (missed == null ? 0 : missed) + comments)));
    }

    /**
     * How long the viewer has been lagging, in nanoseconds (0 when it is not). Also notices
     * that a lagging viewer has caught up.
     */
    public synchronized long lagging(long now) {
        if (lagging && queue.size() <= lowWater) {
            lagging = false;
        }
        return lagging ? Math.max(1, now - laggingSince) : 0;
    }

    /** Forgets what was skipped in a room the viewer left. */
    public synchronized void forget(String room) {
        takeSkipped(room);
    }

    /** The comments skipped in {@code room} and not reported yet (null: none), now forgotten. */
    private @Nullable Integer takeSkipped(String room) {
        Map<String, Integer> owed = skipped;
        if (owed == null) {
            return null;
        }
        Integer missed = owed.remove(room);
        if (owed.isEmpty()) {
            skipped = null;
        }
        return missed;
    }

    private Result emit(Outbound item) {
        Consumer<Outbound> writer = wake;
        if (writer != null) {
            if (!queue.offer(item)) {
                return Result.OVERFLOW;
            }
            writer.accept(item);
            return Result.QUEUED;
        }
        return sink().tryEmitNext(item).isSuccess() ? Result.QUEUED : Result.OVERFLOW;
    }

    private static ServerFrame.Batch withDropped(ServerFrame.Batch batch, List<ServerFrame.BatchComment> comments,
                                                 int missed) {
        int dropped = (batch.dropped() == null ? 0 : batch.dropped()) + missed;
        return new ServerFrame.Batch(batch.room(), batch.seq(), batch.ts(), comments, batch.likes(), batch.gifts(),
                batch.viewers(), dropped, batch.totals());
    }
}
