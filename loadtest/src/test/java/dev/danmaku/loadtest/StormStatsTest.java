package dev.danmaku.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class StormStatsTest {

    @Test
    void theDropWaitsForEveryViewerThenIsOneInstantForAll() {
        StormStats stats = new StormStats(3);
        stats.plannedDropAt(10_000);
        stats.joined(1_000);
        stats.joinFailed(2_000);
        assertThat(stats.untilDrop(12_000)).isEqualTo(Long.MAX_VALUE); // one viewer still joining

        stats.joined(20_000); // the last one joined after the planned instant
        assertThat(stats.untilDrop(20_000)).isEqualTo(StormStats.LEAD_MILLIS);
        assertThat(stats.untilDrop(30_000)).isZero();
    }

    @Test
    void whenEveryoneJoinedInTimeThePlannedInstantHolds() {
        StormStats stats = new StormStats(1);
        stats.plannedDropAt(10_000);
        stats.joined(1_000);
        assertThat(stats.untilDrop(4_000)).isEqualTo(6_000);
    }

    @Test
    void settleTimeRunsFromTheDropToTheLastRejoin() {
        StormStats stats = new StormStats(2);
        stats.plannedDropAt(10_000);
        stats.joined(1_000);
        stats.joined(2_000);
        stats.dropped(10_000);
        stats.dropped(10_004);
        stats.rejoined(true, 10_500);
        stats.rejoined(false, 11_200);
        stats.rejoined(null, 40_000); // never rejoined: not part of the settle time

        assertThat(stats.settleMillis()).isEqualTo(1_200);
        assertThat(stats.dropSpreadMillis()).isEqualTo(4);
        assertThat(stats.recovered()).isEqualTo(1);
        assertThat(stats.summary()).contains("1 rejoined with recovered:true, 1 with recovered:false, 1 not rejoined");
    }
}
