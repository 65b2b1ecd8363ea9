package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocketHandshakeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The per-IP cap behind a proxy: the test's connections come from 127.0.0.1, which this gateway
 * trusts as its proxy, so the client is the address the forwarding headers name.
 * ({@link AbuseIntegrationTest}'s gateway trusts no proxy: there the headers change nothing.)
 */
class ForwardedClientIntegrationTest {

    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static HttpClient http;
    private final List<WsClient> open = new ArrayList<>();

    @BeforeAll
    static void start() {
        gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=proxied",
                "danmaku.abuse.max-connections-per-ip=2",
                "danmaku.abuse.trusted-proxies=127.0.0.0/8,::1").run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    @AfterEach
    void closeAll() {
        open.forEach(WsClient::close);
    }

    private void connect(String... headers) {
        WsClient client = WsClient.connectWithHeaders(URI.create("ws://127.0.0.1:" + port + "/ws"), headers);
        open.add(client);
        client.next("welcome");
    }

    private static void assertRefusedWith429(Runnable connect) {
        assertThatThrownBy(connect::run)
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                        e -> assertThat(e.getResponse().statusCode()).isEqualTo(429));
    }

    @Test
    void theCapCountsTheClientTheTrustedProxyNamesInXForwardedFor() {
        connect("X-Forwarded-For", "203.0.113.7");
        // the client's own (spoofed) entry comes first; the proxy appended what it saw
        connect("X-Forwarded-For", "198.51.100.1, 203.0.113.7");
        assertRefusedWith429(() -> connect("X-Forwarded-For", "203.0.113.7"));

        // other clients behind the same proxy are counted on their own
        connect("X-Forwarded-For", "203.0.113.8");
        connect("X-Forwarded-For", "203.0.113.9");
    }

    @Test
    void theForwardedHeaderNamesTheClientToo() {
        connect("Forwarded", "for=\"[2001:db8::5]:4711\";proto=https");
        connect("Forwarded", "for=2001:db8::5");
        assertRefusedWith429(() -> connect("Forwarded", "for=\"[2001:db8:0:0::5]\""));
        connect("Forwarded", "for=192.0.2.44");
    }
}
