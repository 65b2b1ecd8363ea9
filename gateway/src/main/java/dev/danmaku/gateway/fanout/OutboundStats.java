package dev.danmaku.gateway.fanout;

import java.util.concurrent.atomic.LongAdder;

/**
 * A node's counts of the slow-viewer policy ({@link Outbox}), for metrics and tests. Thread-safe.
 */
public final class OutboundStats {

    private final LongAdder lagStarts = new LongAdder();
    private final LongAdder skippedBatches = new LongAdder();
    private final LongAdder strippedBatches = new LongAdder();
    private final LongAdder slowCloses = new LongAdder();
    private final LongAdder droppedComments = new LongAdder();

    void lagStarted() {
        lagStarts.increment();
    }

    void batchSkipped(int comments) {
        skippedBatches.increment();
        droppedComments.add(comments);
    }

    void batchStripped(int comments) {
        strippedBatches.increment();
        droppedComments.add(comments);
    }

    /** A connection was closed (1013) because it lagged too long or overflowed its queue. */
    public void slowClosed() {
        slowCloses.increment();
    }

    /** Times a viewer started lagging (its queue full). */
    public long lagStarts() {
        return lagStarts.sum();
    }

    /** Comment batches not sent to lagging viewers. */
    public long skippedBatches() {
        return skippedBatches.sum();
    }

    /** Batches with gifts or totals sent to lagging viewers without their comments. */
    public long strippedBatches() {
        return strippedBatches.sum();
    }

    /** Comments not sent to lagging viewers (of skipped and of stripped batches). */
    public long droppedComments() {
        return droppedComments.sum();
    }

    /** Connections closed 1013 for reading too slowly. */
    public long slowCloses() {
        return slowCloses.sum();
    }
}
