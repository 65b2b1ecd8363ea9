package dev.danmaku.gateway.session;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.util.concurrent.TimeUnit;

/**
 * One connection's send rates (Bucket4j token buckets): comments at the protocol's rate and
 * burst, and a separate, looser bucket for the other sends (likes, gifts, mutes). Lock-free.
 */
final class SendLimiter {

    private final Bucket comments;
    private final Bucket others;

    SendLimiter(ConnectionSettings settings, TimeMeter time) {
        this.comments = bucket(settings.limits().commentsPerSecond(), settings.limits().commentBurst(), time);
        this.others = bucket(settings.sendsPerSecond(), settings.sendBurst(), time);
    }

    /** @return 0 when the comment may go, else the milliseconds until it may */
    long tryComment() {
        return tryConsume(comments);
    }

    /** @return 0 when the send may go, else the milliseconds until it may */
    long trySend() {
        return tryConsume(others);
    }

    private static long tryConsume(Bucket bucket) {
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (probe.isConsumed()) {
            return 0;
        }
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(probe.getNanosToWaitForRefill() + 999_999));
    }

    private static Bucket bucket(int perSecond, int burst, TimeMeter time) {
        return Bucket.builder()
                .addLimit(limit -> limit.capacity(burst).refillGreedy(perSecond, java.time.Duration.ofSeconds(1)))
                .withCustomTimePrecision(time)
                .build();
    }
}
