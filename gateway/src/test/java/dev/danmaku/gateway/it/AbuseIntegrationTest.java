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
            WsClient client = WsClient.connect(http, ws(""));
            client.next("welcome");
            clients.add(client);
        }
        assertThatThrownBy(() -> WsClient.connect(http, ws("")))
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                        e -> assertThat(e.getResponse().statusCode()).isEqualTo(429));

        clients.remove(0).close();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            WsClient again = WsClient.connect(http, ws(""));
            clients.add(again);
            return again.next("welcome") != null;
        });
        clients.forEach(WsClient::close);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            try (WsClient last = WsClient.connect(http, ws(""))) {
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
                WsClient client = WsClient.connectWithHeaders(http, ws(""), "X-Forwarded-For", "203.0.113." + i);
                client.next("welcome");
                clients.add(client);
            }
            assertThatThrownBy(() -> WsClient.connectWithHeaders(http, ws(""), "X-Forwarded-For", "203.0.113.99",
                    "Forwarded", "for=203.0.113.99"))
                    .isInstanceOf(CompletionException.class)
                    .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                            e -> assertThat(e.getResponse().statusCode()).isEqualTo(429));
        } finally {
            clients.forEach(WsClient::close);
        }
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { // their places are free again
            try (WsClient last = WsClient.connect(http, ws(""))) {
                return last.next("welcome") != null;
            }
        });
    }

    @Test
    void aConnectionThatKeepsSendingBeyondItsRateIsClosedWith4029() throws Exception {
        String token = JsonMapper.builder().build().readTree(http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"Spam\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("token").asString();
        try (WsClient spammer = WsClient.connect(http, ws("?token=" + token))) {
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
