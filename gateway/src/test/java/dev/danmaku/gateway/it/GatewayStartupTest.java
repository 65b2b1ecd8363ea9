package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.CloseCode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/** How the gateway starts (or refuses to), and what it serves outside dev mode. */
class GatewayStartupTest {

    private static final String SECRET = "a-production-secret-of-at-least-32-bytes";

    private static ConfigurableApplicationContext start(String... properties) {
        return GatewayApplication.builder()
                .properties("server.port=0", "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers())
                .properties(properties)
                .run();
    }

    private static int port(ConfigurableApplicationContext context) {
        return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    @Test
    void withoutASecretOutsideDevModeTheStartUpFailsSayingWhatToSet() {
        assertThatThrownBy(() -> start("danmaku.dev-mode=false"))
                .rootCause().hasMessageContaining("DANMAKU_AUTH_JWT_SECRET").hasMessageContaining("DANMAKU_DEV_MODE");
    }

    @Test
    void aSecretShorterThan32BytesFailsTheStartUp() {
        assertThatThrownBy(() -> start("danmaku.auth.jwt-secret=too-short"))
                .rootCause().hasMessageContaining("at least 32 bytes");
    }

    @Test
    void anInvalidSettingFailsTheStartUp() {
        assertThatThrownBy(() -> start("danmaku.dev-mode=true", "danmaku.heartbeat.interval=60s",
                "danmaku.heartbeat.timeout=30s"))
                .rootCause().hasMessageContaining("danmaku.heartbeat");
    }

    @Test
    void aSocketSendBufferUnderAPageFailsTheStartUp() {
        assertThatThrownBy(() -> start("danmaku.dev-mode=true", "danmaku.outbound.socket-send-buffer=1KB"))
                .rootCause().hasMessageContaining("danmaku.outbound.socket-send-buffer");
    }

    @Test
    void outsideDevModeThereIsNoDevTokenEndpointAndForeignOriginsAreRefused() throws Exception {
        try (ConfigurableApplicationContext gateway = start("danmaku.auth.jwt-secret=" + SECRET,
                "danmaku.allowed-origins=http://good.example")) {
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> tokens = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port(gateway) + "/api/dev/tokens"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"Mallory\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(tokens.statusCode()).isEqualTo(404);

            URI ws = URI.create("ws://127.0.0.1:" + port(gateway) + "/ws");
            assertThatThrownBy(() -> http.newWebSocketBuilder().header("Origin", "http://evil.example")
                    .buildAsync(ws, new WebSocket.Listener() { }).join())
                    .isInstanceOf(CompletionException.class)
                    .extracting(Throwable::getCause, InstanceOfAssertFactories.type(WebSocketHandshakeException.class))
                    .satisfies(e -> assertThat(e.getResponse().statusCode()).isEqualTo(403));
            http.newWebSocketBuilder().header("Origin", "http://good.example")
                    .buildAsync(ws, new WebSocket.Listener() { }).get(30, TimeUnit.SECONDS).abort();
            http.newWebSocketBuilder().buildAsync(ws, new WebSocket.Listener() { }).get(30, TimeUnit.SECONDS).abort();
        }
    }

    @Test
    void twoGatewaysRunInOneJvmAndStopTheirThreadsWhenClosed() {
        ConfigurableApplicationContext a = start("danmaku.dev-mode=true", "danmaku.node-id=twin-a");
        ConfigurableApplicationContext b = start("danmaku.dev-mode=true", "danmaku.node-id=twin-b");
        assertThat(port(a)).isNotEqualTo(port(b));
        assertThat(threadNamed("danmaku-feed-twin-a")).isTrue();
        assertThat(threadNamed("danmaku-feed-twin-b")).isTrue();
        HttpClient http = HttpClient.newHttpClient();
        WsClient viewer = WsClient.connect(URI.create("ws://127.0.0.1:" + port(a) + "/ws?room=lobby"));
        viewer.next("joined");

        long started = System.nanoTime();
        a.close();
        b.close();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
        assertThat(viewer.closeCode()).as("told to reconnect elsewhere").isEqualTo(CloseCode.SERVICE_RESTART.code());
        // the feed, the send thread, the Kafka clients' threads: all named after the node
        await().atMost(Duration.ofSeconds(10)).until(() -> !threadNamed("twin-"));
    }

    private static boolean threadNamed(String part) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.isAlive() && t.getName().contains(part));
    }
}
