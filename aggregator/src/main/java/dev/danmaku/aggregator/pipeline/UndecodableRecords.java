package dev.danmaku.aggregator.pipeline;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports ingress records that cannot be decoded, without flooding the log: the first one at
 * once, then at most one line per interval that also counts the ones not reported in between.
 * Such records are skipped (their offsets are committed with the next window), never retried.
 * Not thread-safe: used by the loop thread only.
 */
final class UndecodableRecords {

    private static final Logger log = LoggerFactory.getLogger(UndecodableRecords.class);

    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private boolean reported;
    private long lastReport;
    private long unreported;

    UndecodableRecords(Duration interval, LongSupplier nanoTime) {
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
    }

    /**
     * Notes a skipped record.
     *
     * @return true when it was logged, false when it was only counted
     */
    boolean skipped(String topic, int partition, long offset, Exception error) {
        long now = nanoTime.getAsLong();
        if (reported && now - lastReport < intervalNanos) {
            unreported++;
            return false;
        }
        log.warn("Skipped an undecodable record at {}-{}@{}{}: {}", topic, partition, offset,
                unreported == 0 ? "" : " (and " + unreported + " more since the last report)", error.toString());
        reported = true;
        lastReport = now;
        unreported = 0;
        return true;
    }
}
