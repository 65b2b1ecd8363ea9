package dev.danmaku.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class LoadSettingsTest {

    private static LoadSettings settings(String target, double rate) {
        return new LoadSettings(URI.create(target), 200, 2, 20, rate, Duration.ofSeconds(30),
                Duration.ofSeconds(5), 2000, Duration.ofSeconds(10), "loadtest");
    }

    @Test
    void webSocketUrlKeepsHostPortAndPathWithTheMatchingScheme() {
        assertThat(settings("http://localhost:8080", 1).wsBaseUrl()).isEqualTo("ws://localhost:8080");
        assertThat(settings("https://danmaku.example/edge", 1).wsBaseUrl())
                .isEqualTo("wss://danmaku.example/edge");
    }

    @Test
    void roomsAreAssignedRoundRobin() {
        LoadSettings s = settings("http://localhost:8080", 1);
        assertThat(s.room(0)).isEqualTo("loadtest-0");
        assertThat(s.room(1)).isEqualTo("loadtest-1");
        assertThat(s.room(2)).isEqualTo("loadtest-0");
    }

    @Test
    void sendIntervalIsTheInverseOfTheRate() {
        assertThat(settings("http://localhost:8080", 2).sendInterval()).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void refusesRatesAboveTheGatewaysPerConnectionLimitAndNonHttpTargets() {
        assertThatIllegalArgumentException().isThrownBy(() -> settings("http://localhost:8080", 6));
        assertThatIllegalArgumentException().isThrownBy(() -> settings("ws://localhost:8080", 1));
    }

    @Test
    void commentFramesCarryTheRoomAndTheId() {
        assertThat(LiveRoomSimulation.commentFrame("loadtest-1", "abc-bot-3-7"))
                .isEqualTo("{\"type\":\"comment\",\"room\":\"loadtest-1\",\"id\":\"abc-bot-3-7\","
                        + "\"text\":\"load test abc-bot-3-7\",\"mode\":\"scroll\"}");
    }
}
