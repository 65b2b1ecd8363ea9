package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.CloseCode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** The per-IP connection cap and the close (4029) of a connection that keeps sending beyond its rate. */
class AbuseIntegrationTest {

    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static HttpClient http;

    @BeforeAll
    static void start() {
        gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=abuse",
                "danmaku.abuse.max-connections-per-ip=3",
                "danmaku.abuse.rate-limited-frames=5",
                "danmaku.abuse.window=1m").run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static URI ws(String query) {
        return URI.create("ws://127.0.0.1:" + port + "/ws" + query);
    }

    @Test
    void beyondTheCapAHandshakeFromTheSameIpIsRefusedWith429UntilOneCloses() {
        GatewayWebSocketHandler handler = gateway.getBean(GatewayWebSocketHandler.class);
        await().atMost(Duration.ofSeconds(30)).until(() -> handler.openConnections() == 0); // the other test's gone
        List<WsClient> clients = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            WsClient client = WsClient.connect(ws(""));
            client.next("welcome");
            clients.add(client);
        }
        assertThatThrownBy(() -> WsClient.connect(ws("")))
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                        e -> assertThat(e.getResponse().statusCode()).isEqualTo(429));

        clients.remove(0).close();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            WsClient again = WsClient.connect(ws(""));
            clients.add(again);
            return again.next("welcome") != null;
        });
        clients.forEach(WsClient::close);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            try (WsClient last = WsClient.connect(ws(""))) {
                return last.next("welcome") != null;
            }
        });
    }

    @Test
    void forwardingHeadersFromAPeerThatIsNotATrustedProxyChangeNothing() {
        GatewayWebSocketHandler handler = gateway.getBean(GatewayWebSocketHandler.class);
        await().atMost(Duration.ofSeconds(30)).until(() -> handler.openConnections() == 0); // the other tests' gone
        List<WsClient> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                WsClient client = WsClient.connectWithHeaders(ws(""), "X-Forwarded-For", "203.0.113." + i);
                client.next("welcome");
                clients.add(client);
            }
            assertThatThrownBy(() -> WsClient.connectWithHeaders(ws(""), "X-Forwarded-For", "203.0.113.99",
                    "Forwarded", "for=203.0.113.99"))
                    .isInstanceOf(CompletionException.class)
                    .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                            e -> assertThat(e.getResponse().statusCode()).isEqualTo(429));
        } finally {
            clients.forEach(WsClient::close);
        }
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { // their places are free again
            try (WsClient last = WsClient.connect(ws(""))) {
                return last.next("welcome") != null;
            }
        });
    }

    /**
     * Likes and gifts have a bucket of their own (default 20 a second, bursts of 40), apart from
     * comments': a gift beyond it is answered {@code rate_limited} with its id and when to retry,
     * a comment still goes through, and likes kept up beyond it close the connection with 4029.
     */
    @Test
    void giftsAndLikesHaveTheirOwnLimitAndKeptUpCloseWith4029() throws Exception {
        try (WsClient fan = WsClient.connect(ws("?token=" + token("Fan")))) {
            fan.next("welcome");
            for (int i = 0; i < 40; i++) { // the burst, at once
                fan.send("{\"type\":\"gift\",\"room\":\"fans\",\"id\":\"g-" + i + "\",\"gift\":\"heart\",\"count\":1}");
            }
            java.util.Set<String> acked = new java.util.HashSet<>();
            while (acked.size() < 40) {
                acked.add(fan.next("ack").path("id").asString());
            }
            // one at a time, each answered before the next: faster than 20 a second, so the bucket empties
            JsonNode limited = null;
            for (int i = 40; i < 400 && limited == null; i++) {
                String id = "g-" + i;
                fan.send("{\"type\":\"gift\",\"room\":\"fans\",\"id\":\"" + id + "\",\"gift\":\"heart\",\"count\":1}");
                JsonNode answer = fan.next(f -> id.equals(f.path("id").asString()), "the answer to " + id);
                if (answer.path("type").asString().equals("error")) {
                    limited = answer;
                }
            }
            assertThat(limited).as("a gift beyond the rate").isNotNull();
            assertThat(limited.path("code").asString()).isEqualTo("rate_limited");
            assertThat(limited.path("retryAfterMs").asLong()).isBetween(1L, 1_000L);

            fan.send("{\"type\":\"comment\",\"room\":\"fans\",\"id\":\"c-1\",\"text\":\"still here\"}");
            assertThat(fan.next(f -> "c-1".equals(f.path("id").asString()), "the comment's answer").path("type").asString())
                    .as("comments have their own bucket").isEqualTo("ack");

            for (int i = 0; i < 50 && !fan.isClosed(); i++) {
                fan.send("{\"type\":\"like\",\"room\":\"fans\",\"count\":1}");
            }
            assertThat(fan.closeCode()).isEqualTo(CloseCode.TOO_MANY_REQUESTS.code());
        }
    }

    private static String token(String name) throws Exception {
        return JsonMapper.builder().build().readTree(http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("token").asString();
    }

    @Test
    void aConnectionThatKeepsSendingBeyondItsRateIsClosedWith4029() throws Exception {
        String token = token("Spam");
        try (WsClient spammer = WsClient.connect(ws("?token=" + token))) {
            spammer.next("welcome");
            for (int i = 0; i < 30 && !spammer.isClosed(); i++) {
                spammer.send("{\"type\":\"like\",\"room\":\"spam\",\"count\":1}");
                spammer.send("{\"type\":\"comment\",\"room\":\"spam\",\"id\":\"s-" + i + "\",\"text\":\"buy now\"}");
            }
            assertThat(spammer.closeCode()).isEqualTo(CloseCode.TOO_MANY_REQUESTS.code());
            spammer.next(f -> f.path("code").asString().equals("rate_limited"), "a rate_limited error before the close");
        }
    }
}
