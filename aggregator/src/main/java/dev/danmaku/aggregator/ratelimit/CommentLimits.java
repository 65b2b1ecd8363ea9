package dev.danmaku.aggregator.ratelimit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Per user and room comment limits: a token bucket (Bucket4j) of {@code burst} comments that
 * refills one every {@code interval}, or, in a room in slow mode, one comment per slow-mode
 * interval without burst.
 *
 * <p>Time is the records' own time (the ingress {@code ts}), not the clock of the aggregator,
 * so that a backlog consumed after a restart is judged as it was sent. Buckets are kept for
 * the most recently active {@value #MAX_BUCKETS} user-room pairs (an evicted one starts full
 * again). Not thread-safe: it belongs to the loop thread.
 */
public final class CommentLimits {

    static final int MAX_BUCKETS = 100_000;

    private final int burst;
    private final Duration interval;
    private final Map<String, Duration> slowMode;
    private final RecordTime time = new RecordTime();
    private final Map<String, Bucket> buckets = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Bucket> eldest) {
            return size() > MAX_BUCKETS;
        }
    };

    public CommentLimits(int burst, Duration interval, Map<String, Duration> slowMode) {
        this.burst = burst;
        this.interval = interval;
        this.slowMode = Map.copyOf(slowMode);
    }

    /** True when {@code user} may comment in {@code room} at {@code ts} (and it is counted). */
    public boolean tryComment(String room, String user, long ts) {
        return tryComment(room, user, ts, null);
    }

    /**
     * The same, with the slow mode the room's streamer set ({@code null}: none, the configured one
     * applies). A change of slow mode starts every user of the room with a fresh bucket.
     */
    public boolean tryComment(String room, String user, long ts, @Nullable Duration streamerSlowMode) {
        time.advanceTo(ts);
        Duration slow = streamerSlowMode != null ? streamerSlowMode : slowMode.get(room);
        String key = room + '\u0000' + user + '\u0000' + (slow == null ? 0 : slow.toMillis());
        return buckets.computeIfAbsent(key, k -> bucket(slow)).tryConsume(1);
    }

    /** Forgets every bucket (the records of a failed transaction come again, judged afresh). */
    public void reset() {
        buckets.clear();
    }

    private Bucket bucket(@Nullable Duration slow) {
        int capacity = slow == null ? burst : 1;
        Duration refill = slow == null ? interval : slow;
        return Bucket.builder()
                .addLimit(limit -> limit.capacity(capacity).refillGreedy(1, refill))
                .withCustomTimePrecision(time)
                .build();
    }

    /** The time of the record being judged; never goes back (gateways' clocks differ a little). */
    private static final class RecordTime implements TimeMeter {
        private long nanos;

        void advanceTo(long epochMillis) {
            nanos = Math.max(nanos, epochMillis * 1_000_000L);
        }

        @Override
        public long currentTimeNanos() {
            return nanos;
        }

        @Override
        public boolean isWallClockBased() {
            return false;
        }
    }
}
