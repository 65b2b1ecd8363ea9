package dev.danmaku.gateway.room;

import dev.danmaku.gateway.fanout.SharedBatch;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A room's most recent batches, for {@code join} with {@code since}: at most {@code maxBatches},
 * none older than {@code maxAge}. It knows from which seq on it is complete, so that it can tell
 * whether a resume is possible. Not thread-safe: its {@link Room} guards it.
 */
final class RoomRing {

    private final ArrayDeque<SharedBatch> batches = new ArrayDeque<>();
    private final int maxBatches;
    private final long maxAgeMillis;
    /** Every batch with a seq >= this one is in the ring (it was never evicted). */
    private long completeFrom;

    RoomRing(int maxBatches, Duration maxAge, long completeFrom) {
        this.maxBatches = maxBatches;
        this.maxAgeMillis = maxAge.toMillis();
        this.completeFrom = completeFrom;
    }

    /** Forgets everything: the ring is complete from {@code offset} on (reading restarts there). */
    void reset(long offset) {
        batches.clear();
        completeFrom = offset;
    }

    /** Appends a batch; its seq must be greater than every seq in the ring. */
    void add(SharedBatch batch, long now) {
        SharedBatch last = batches.peekLast();
        if (last != null && batch.seq() <= last.seq()) {
            throw new IllegalArgumentException("seq " + batch.seq() + " after " + last.seq());
        }
        batches.addLast(batch);
        evict(now);
    }

    /**
     * The batches with a seq greater than {@code since}, oldest first, or null when the ring no
     * longer holds all of them (some were evicted or were never read).
     */
    @Nullable List<SharedBatch> after(long since, long now) {
        evict(now);
        if (since + 1 < completeFrom) {
            return null;
        }
        List<SharedBatch> result = new ArrayList<>();
        Iterator<SharedBatch> newestFirst = batches.descendingIterator();
        while (newestFirst.hasNext()) {
            SharedBatch batch = newestFirst.next();
            if (batch.seq() <= since) {
                break;
            }
            result.add(batch);
        }
        Collections.reverse(result);
        return result;
    }

    int size() {
        return batches.size();
    }

    long completeFrom() {
        return completeFrom;
    }

    private void evict(long now) {
        long oldestAllowed = now - maxAgeMillis;
        while (!batches.isEmpty()
                && (batches.size() > maxBatches || batches.peekFirst().timestamp() < oldestAllowed)) {
            completeFrom = batches.removeFirst().seq() + 1;
        }
    }
}
