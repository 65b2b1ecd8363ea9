package dev.danmaku.loadtest;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;

/**
 * The tallies of one {@link ReconnectStormSimulation} run, printed at its end. Thread-safe.
 */
final class StormStats {

    /**
     * How long before the drop its instant is fixed: every waiting viewer wakes at least once a
     * {@code READ_EVERY} (1 s), so each learns the instant in time to sleep until exactly then.
     */
    static final long LEAD_MILLIS = 1_500;

    private final int viewers;
    /** The earliest drop (epoch millis): the start plus ramp and stay; set when the run starts. */
    private final AtomicLong plannedDropAt = new AtomicLong(Long.MAX_VALUE);
    /** When every viewer is dropped (epoch millis); fixed once every viewer joined (or failed to). */
    private final AtomicLong dropAt = new AtomicLong(Long.MAX_VALUE);
    private final LongAdder joinFailed = new LongAdder();
    private final AtomicLong settledJoins = new AtomicLong();
    private final LongAdder joined = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder recovered = new LongAdder();
    private final LongAdder notRecovered = new LongAdder();
    private final LongAdder notRejoined = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder outOfOrder = new LongAdder();
    private final LongAccumulator lastRejoin = new LongAccumulator(Math::max, Long.MIN_VALUE);
    private final LongAccumulator firstDrop = new LongAccumulator(Math::min, Long.MAX_VALUE);
    private final LongAccumulator lastDrop = new LongAccumulator(Math::max, Long.MIN_VALUE);

    /** @param viewers how many viewers join before the drop */
    StormStats(int viewers) {
        this.viewers = viewers;
    }

    /** The run starts: the drop will be at this instant, or later if joining takes longer. */
    void plannedDropAt(long epochMillis) {
        plannedDropAt.set(epochMillis);
    }

    /**
     * Milliseconds until the drop (0 once it is due); {@link Long#MAX_VALUE} while viewers are
     * still joining: the drop waits for all of them, so that it is one instant for everybody.
     */
    long untilDrop(long now) {
        long at = dropAt.get();
        return at == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, at - now);
    }

    /** A viewer joined. */
    void joined(long now) {
        joined.increment();
        settled(now);
    }

    /** A viewer's first join failed: it takes no part in the storm. */
    void joinFailed(long now) {
        joinFailed.increment();
        settled(now);
    }

    private void settled(long now) {
        if (settledJoins.incrementAndGet() == viewers) {
            dropAt.compareAndSet(Long.MAX_VALUE, Math.max(plannedDropAt.get(), now + LEAD_MILLIS));
        }
    }

    /** A viewer starts closing its socket now (epoch millis). */
    void dropped(long now) {
        dropped.increment();
        firstDrop.accumulate(now);
        lastDrop.accumulate(now);
    }

    /** Between the first and the last viewer's drop (ms): how "at once" the drop was. */
    long dropSpreadMillis() {
        return dropped.sum() == 0 ? -1 : lastDrop.get() - firstDrop.get();
    }

    /**
     * A reconnect ended.
     *
     * @param recoveredFlag the {@code joined.recovered} it got, or null when no {@code joined} came
     */
    void rejoined(Boolean recoveredFlag, long now) {
        if (recoveredFlag == null) {
            notRejoined.increment();
            return;
        }
        (recoveredFlag ? recovered : notRecovered).increment();
        lastRejoin.accumulate(now);
    }

    void followed(SeqTracker.Progress progress) {
        batches.add(progress.batches());
        outOfOrder.add(progress.outOfOrder());
    }

    /** From the drop until the last viewer was rejoined (ms), or -1 when none was. */
    long settleMillis() {
        long last = lastRejoin.get();
        return last == Long.MIN_VALUE || dropAt.get() == Long.MAX_VALUE ? -1 : last - dropAt.get();
    }

    long recovered() {
        return recovered.sum();
    }

    long outOfOrder() {
        return outOfOrder.sum();
    }

    String summary() {
        return String.format("ReconnectStorm: %d viewers joined (%d failed to), %d dropped at once (within %d ms); %d rejoined with recovered:true,"
                        + " %d with recovered:false, %d not rejoined; settled %d ms after the drop (last rejoin);"
                        + " %d batches received, %d out of order or duplicated",
                joined.sum(), joinFailed.sum(), dropped.sum(), dropSpreadMillis(), recovered.sum(), notRecovered.sum(), notRejoined.sum(), settleMillis(),
                batches.sum(), outOfOrder.sum());
    }
}
