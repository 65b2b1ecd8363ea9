package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * Tokens of an identity provider, verified with the public keys of its JWK set (served here by
 * the JDK's HTTP server): no secret, not in dev mode.
 */
class JwkSetIntegrationTest {

    private static RSAKey key;
    private static HttpServer jwks;
    private static final AtomicInteger jwksFetches = new AtomicInteger();
    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        key = new RSAKeyGenerator(2048).keyID("k1").generate();
        byte[] body = new JWKSet(key.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        jwks = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        jwks.createContext("/jwks.json", exchange -> {
            jwksFetches.incrementAndGet();
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        jwks.start();
        gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.node-id=jwks",
                "danmaku.auth.jwk-set-uri=http://127.0.0.1:" + jwks.getAddress().getPort() + "/jwks.json").run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    @AfterAll
    static void stop() {
        gateway.close();
        jwks.stop(0);
    }

    private static JWTClaimsSet claims(Instant expires) {
        return new JWTClaimsSet.Builder().subject("idp-42").claim("name", "Carol").claim("role", "streamer")
                .claim("rooms", List.of("carol-live")).expirationTime(Date.from(expires)).build();
    }

    private static String rs256(RSAKey signer, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(signer.getKeyID()).build(), claims);
        jwt.sign(new RSASSASigner(signer));
        return jwt.serialize();
    }

    private static URI ws(String token) {
        return URI.create("ws://127.0.0.1:" + port + "/ws?token=" + token);
    }

    private static void assertRefusedWith401(String token) {
        assertThatThrownBy(() -> WsClient.connect(ws(token)))
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                        e -> assertThat(e.getResponse().statusCode()).isEqualTo(401));
    }

    @Test
    void aTokenSignedWithAKeyOfTheSetIsAccepted() throws Exception {
        try (WsClient client = WsClient.connect(ws(rs256(key, claims(Instant.now().plusSeconds(600)))))) {
            JsonNode welcome = client.next("welcome");
            assertThat(welcome.path("user").path("id").asString()).isEqualTo("idp-42");
            assertThat(welcome.path("user").path("name").asString()).isEqualTo("Carol");
            assertThat(welcome.path("user").path("role").asString()).isEqualTo("streamer");
        }
        assertThat(jwksFetches.get()).as("the key set was fetched").isPositive();
    }

    @Test
    void otherKeysExpiredTokensAndTheSecretlessHs256AreRefused() throws Exception {
        RSAKey impostor = new RSAKeyGenerator(2048).keyID("k1").generate(); // same key id, other key
        assertRefusedWith401(rs256(impostor, claims(Instant.now().plusSeconds(600))));
        assertRefusedWith401(rs256(key, claims(Instant.now().minusSeconds(3600))));
        SignedJWT hs256 = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims(Instant.now().plusSeconds(600)));
        hs256.sign(new MACSigner("0123456789abcdef0123456789abcdef-any".getBytes(StandardCharsets.UTF_8)));
        assertRefusedWith401(hs256.serialize());
        assertRefusedWith401("not.a.jwt");
    }
}
