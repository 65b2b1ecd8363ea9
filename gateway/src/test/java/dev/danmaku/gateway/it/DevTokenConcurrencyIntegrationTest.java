package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /api/dev/tokens} called 400 times at once on a gateway that has just started (its
 * JSON readers never used yet, as a benchmark's clients find it): every call gets its token, and
 * no event loop blocks meanwhile. It once answered some of them 400: the first requests built the
 * body's deserializer on the event loops, and the ones that waited for that construction were
 * stopped by BlockHound, an error the endpoint then reported as a bad body.
 */
class DevTokenConcurrencyIntegrationTest {

    private static final int CALLS = 400;
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void fourHundredConcurrentCallsOnAFreshGatewayAllGetATokenWithoutBlockingAnEventLoop() throws Exception {
        int blockingBefore = BlockingCalls.count();
        try (ConfigurableApplicationContext gateway = GatewayApplication.builder()
                .properties("server.port=0", "danmaku.dev-mode=true", "danmaku.node-id=tokens-burst",
                        "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers())
                .run()) {
            int port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build();
            List<CompletableFuture<HttpResponse<String>>> calls = IntStream.range(0, CALLS)
                    .mapToObj(i -> http.sendAsync(HttpRequest.newBuilder(
                                            URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                                    .timeout(Duration.ofSeconds(60))
                                    .header("Content-Type", "application/json")
                                    .POST(HttpRequest.BodyPublishers.ofString(
                                            "{\"name\":\"burst " + i + "\",\"role\":\"viewer\",\"rooms\":[\"lobby\"]}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString()))
                    .toList();
            CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);

            Set<String> users = new HashSet<>();
            for (CompletableFuture<HttpResponse<String>> call : calls) {
                HttpResponse<String> response = call.join();
                assertThat(response.statusCode()).as("answer: %s", response.body()).isEqualTo(200);
                JsonNode body = JSON.readTree(response.body());
                assertThat(body.path("token").asString()).isNotBlank();
                users.add(body.path("user").path("id").asString());
            }
            assertThat(users).as("a new user id each").hasSize(CALLS);
        }
        assertThat(BlockingCalls.since(blockingBefore)).as("blocking calls on non-blocking threads").isEmpty();
    }
}
