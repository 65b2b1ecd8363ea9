package dev.danmaku.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The knobs of GiftStorm and ReconnectStorm, and the shared target. */
class StormSettingsTest {

    private static final Target LOCAL = new Target(URI.create("http://localhost:8080"), List.of());

    private static GiftStormSettings gifts(int users, int rooms, int gifts, double rate) {
        return new GiftStormSettings(LOCAL, users, rooms, gifts, rate, 0.25, Duration.ofSeconds(5),
                Duration.ofSeconds(10), 5, Duration.ofSeconds(30), "giftstorm");
    }

    private static ReconnectStormSettings storm(int viewers, double recovered) {
        return new ReconnectStormSettings(LOCAL, viewers, 1, 5, 1, Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofSeconds(10), Duration.ofSeconds(30), 10_000, recovered, "reconnect");
    }

    @Test
    void theTargetGivesTheWebSocketUrlOfTheSameOrigin() {
        assertThat(LOCAL.wsBaseUrl()).isEqualTo("ws://localhost:8080");
        assertThat(new Target(URI.create("https://danmaku.example/edge"), List.of()).wsBaseUrl())
                .isEqualTo("wss://danmaku.example/edge");
        assertThatIllegalArgumentException().isThrownBy(() -> new Target(URI.create("ws://localhost"), List.of()));
    }

    @Test
    void giftStormRoomsAreFreshPerRunAndStayWithinTheAggregatorsIdWindow() {
        assertThat(gifts(100, 2, 20, 5).roomsOf("abc")).containsExactly("giftstorm-abc-0", "giftstorm-abc-1");
        assertThat(gifts(100, 2, 20, 5).sendInterval()).isEqualTo(Duration.ofMillis(200));
        // 1,000 users in one room with 11 ids each: 11,000 ids, more than the aggregator remembers
        assertThatIllegalArgumentException().isThrownBy(() -> gifts(1000, 1, 11, 5)).withMessageContaining("10000");
        assertThat(gifts(1000, 2, 20, 5).rooms()).isEqualTo(2);
        // above the gateway's per-connection gift rate
        assertThatIllegalArgumentException().isThrownBy(() -> gifts(10, 1, 10, 11));
    }

    @Test
    void reconnectStormDropsAfterTheRampAndTheStay() {
        ReconnectStormSettings settings = storm(2000, 100);
        assertThat(settings.dropDelay()).isEqualTo(Duration.ofSeconds(20));
        assertThat(settings.room("abc", 3)).isEqualTo("reconnect-abc-0");
        assertThatIllegalArgumentException().isThrownBy(() -> storm(0, 100));
        assertThatIllegalArgumentException().isThrownBy(() -> storm(10, 101));
    }
}
