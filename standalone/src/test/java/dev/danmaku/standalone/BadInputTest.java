package dev.danmaku.standalone;

import static dev.danmaku.standalone.WsClient.type;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Every bad input of PROTOCOL.md gets its error frame or close code, and a bad frame leaves the connection open. */
class BadInputTest {

    private final Cluster cluster = Cluster.get();

    /** Sends a frame, expects an error with that code, and checks the connection still answers. */
    private static JsonNode expectError(WsClient client, String frame, String code) {
        int errorsBefore = client.frames("error").size();
        client.send(frame);
        org.awaitility.Awaitility.await().until(() -> client.frames("error").size() > errorsBefore);
        JsonNode error = client.frames("error").get(errorsBefore);
        assertThat(error.path("code").asString()).isEqualTo(code);
        assertThat(error.path("message").asString()).isNotBlank();
        long ts = System.nanoTime();
        client.send("{\"type\":\"ping\",\"ts\":" + ts + "}");
        client.awaitFrame(f -> type("pong").test(f) && f.path("ts").asLong() == ts);
        assertThat(client.isOpen()).isTrue();
        return error;
    }

    private WsClient sender() {
        return WsClient.connect(cluster.portA(), "token=" + cluster.viewerToken("Sender"));
    }

    @Test
    void malformedJsonIsABadRequest() {
        try (WsClient client = WsClient.connect(cluster.portA(), "")) {
            expectError(client, "{\"type\":\"join\",", "bad_request");
            expectError(client, "[1,2,3]", "bad_request");
            expectError(client, "{\"room\":\"r1\"}", "bad_request");
        }
    }

    @Test
    void unknownTypeIsABadRequest() {
        try (WsClient client = WsClient.connect(cluster.portA(), "")) {
            expectError(client, "{\"type\":\"dance\",\"room\":\"r1\"}", "bad_request");
        }
    }

    @Test
    void invalidRoomIdIsABadRequest() {
        try (WsClient client = WsClient.connect(cluster.portA(), "")) {
            expectError(client, "{\"type\":\"join\",\"room\":\"no spaces allowed\"}", "bad_request");
            expectError(client, "{\"type\":\"join\",\"room\":\"" + "r".repeat(65) + "\"}", "bad_request");
        }
    }

    @Test
    void wrongFieldTypesAreBadRequests() {
        try (WsClient client = sender()) {
            expectError(client, "{\"type\":\"like\",\"room\":\"r1\",\"count\":\"3\"}", "bad_request");
            expectError(client, "{\"type\":\"like\",\"room\":\"r1\",\"count\":51}", "bad_request");
            expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"x\",\"color\":\"red\"}",
                    "bad_request");
            expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"c1\",\"text\":\"x\",\"mode\":\"spin\"}",
                    "bad_request");
        }
    }

    @Test
    void tooLongTextIsTooLongAndNamesTheComment() {
        try (WsClient client = sender()) {
            JsonNode error = expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"long-1\",\"text\":\""
                    + "x".repeat(101) + "\"}", "too_long");
            assertThat(error.path("id").asString()).isEqualTo("long-1");
        }
    }

    @Test
    void emptyTextOrControlCharactersAreBadRequests() {
        try (WsClient client = sender()) {
            expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"e1\",\"text\":\"   \"}", "bad_request");
            expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"e2\",\"text\":\"a\\u0007b\"}", "bad_request");
        }
    }

    @Test
    void anAnonymousViewerWhoSendsIsUnauthorized() {
        try (WsClient client = WsClient.connect(cluster.portA(), "")) {
            JsonNode error = expectError(client, "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"anon-1\",\"text\":\"hi\"}",
                    "unauthorized");
            assertThat(error.path("id").asString()).isEqualTo("anon-1");
        }
    }

    @Test
    void joiningMoreThanTenRoomsIsTooManyRooms() {
        try (WsClient client = WsClient.connect(cluster.portB(), "")) {
            for (int i = 0; i < 10; i++) {
                String room = "many-" + i;
                client.send("{\"type\":\"join\",\"room\":\"" + room + "\"}");
                client.awaitFrame(type("joined", "room", room));
            }
            expectError(client, "{\"type\":\"join\",\"room\":\"many-10\"}", "too_many_rooms");
        }
    }

    @Test
    void floodingCommentsIsRateLimitedWithARetryAfter() {
        String room = Cluster.room("flood");
        try (WsClient client = sender()) {
            // the burst (10) and then a few more: fewer refusals than the abuse limit that closes with 4029
            for (int i = 0; i < 15; i++) {
                client.send("{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"f-" + i + "\",\"text\":\"spam\"}");
            }
            JsonNode limited = client.awaitFrame(f -> type("error").test(f)
                    && f.path("code").asString().equals("rate_limited"));
            assertThat(limited.path("retryAfterMs").asLong()).isPositive();
            assertThat(client.isOpen()).isTrue();
        }
    }

    @Test
    void anUnknownGiftIsUnknownGift() {
        try (WsClient client = sender()) {
            JsonNode error = expectError(client,
                    "{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g-1\",\"gift\":\"no-such-gift\",\"count\":1}", "unknown_gift");
            assertThat(error.path("id").asString()).isEqualTo("g-1");
        }
    }

    @Test
    void aViewerWhoMutesIsForbidden() {
        try (WsClient client = sender()) {
            expectError(client, "{\"type\":\"mute\",\"room\":\"r1\",\"user\":\"u42\",\"seconds\":600}", "forbidden");
        }
    }

    @Test
    void aFrameOverFourKibClosesTheConnectionWith1009() {
        try (WsClient client = WsClient.connect(cluster.portA(), "")) {
            client.send("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(5000) + "\"}");
            assertThat(client.awaitClose()).isEqualTo(1009);
        }
    }

    @Test
    void aBadTokenIsRefusedAtTheHandshakeWith401() {
        assertThat(WsClient.refusedStatus(cluster.portA(), "token=not.a.jwt", Map.of())).isEqualTo(401);
        String forged = token(Instant.now().plusSeconds(600), "another-secret-another-secret-another-secret");
        assertThat(WsClient.refusedStatus(cluster.portA(), "token=" + forged, Map.of())).isEqualTo(401);
    }

    @Test
    void anExpiredTokenIsRefusedAtTheHandshakeWith401() {
        String expired = token(Instant.now().minusSeconds(3600), Cluster.JWT_SECRET);
        assertThat(WsClient.refusedStatus(cluster.portA(), "token=" + expired, Map.of())).isEqualTo(401);
        assertThat(WsClient.refusedStatus(cluster.portA(), "", Map.of("Authorization", "Bearer " + expired)))
                .isEqualTo(401);
    }

    @Test
    void aValidTokenInTheAuthorizationHeaderIsAccepted() {
        String valid = token(Instant.now().plusSeconds(600), Cluster.JWT_SECRET);
        try (WsClient client = WsClient.connect(cluster.portA(), "", Map.of("Authorization", "Bearer " + valid))) {
            assertThat(client.awaitFrame(type("welcome")).path("user").path("id").asString()).isEqualTo("u-header");
        }
    }

    private static String token(Instant expiry, String secret) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), new JWTClaimsSet.Builder()
                    .subject("u-header").claim("name", "Header").claim("role", "viewer").claim("rooms", List.of())
                    .expirationTime(Date.from(expiry)).build());
            jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
            return jwt.serialize();
        } catch (com.nimbusds.jose.JOSEException e) {
            throw new IllegalStateException(e);
        }
    }
}
