package dev.danmaku.aggregator.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class UndecodableRecordsTest {

    private final AtomicLong nanos = new AtomicLong(1_000);
    private final UndecodableRecords records = new UndecodableRecords(Duration.ofSeconds(10), nanos::get);

    @Test
    void theFirstUndecodableRecordIsLoggedThenAtMostOneLinePerInterval() {
        assertThat(records.skipped("danmaku.ingress", 0, 1, new IllegalArgumentException("bad"))).isTrue();
        assertThat(records.skipped("danmaku.ingress", 0, 2, new IllegalArgumentException("bad"))).isFalse();
        nanos.addAndGet(Duration.ofSeconds(9).toNanos());
        assertThat(records.skipped("danmaku.ingress", 0, 3, new IllegalArgumentException("bad"))).isFalse();

        nanos.addAndGet(Duration.ofSeconds(1).toNanos());

        assertThat(records.skipped("danmaku.ingress", 0, 4, new IllegalArgumentException("bad"))).isTrue();
        assertThat(records.skipped("danmaku.ingress", 0, 5, new IllegalArgumentException("bad"))).isFalse();
    }
}
