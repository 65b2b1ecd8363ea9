package dev.danmaku.standalone;

import static dev.danmaku.standalone.WsClient.type;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** Gifts, likes, mutes and the room snapshot, end to end: WebSocket → gateway → Kafka → aggregator → back. */
class RoomStateEndToEndTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Cluster cluster = Cluster.get();

    @Test
    void giftsAndLikesReachViewersWithTotalsAndTheRoomSnapshotServesThemOnAnyGateway() {
        String room = Cluster.room("gifts");
        String token = cluster.viewerToken("Giver");
        try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room);
             WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            viewer.awaitFrame(type("joined", "room", room));
            sender.awaitFrame(type("joined", "room", room));
            sender.send(gift(room, "g1", "rose", 2));
            sender.send(gift(room, "g2", "rocket", 1));
            sender.awaitFrame(type("ack", "id", "g2"));
            sender.send(gift(room, "g1", "rose", 2)); // a retry: counted once
            sender.awaitFrame(type("ack", "id", "g1"));
            sender.send("{\"type\":\"like\",\"room\":\"" + room + "\",\"count\":5}");

            JsonNode totals = viewer.awaitFrame(f -> f.path("type").asString().equals("batch")
                    && f.path("totals").path("gifts").path("rocket").path("count").asLong() == 1).path("totals");
            assertThat(totals.path("gifts").path("rose").path("count").asLong()).isEqualTo(2);
            assertThat(totals.path("gifts").path("rose").path("value").asLong()).isEqualTo(20);
            assertThat(totals.path("top").get(0).path("value").asLong()).isEqualTo(1020);

            JsonNode snapshot = Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(cluster.portB(), "/api/rooms/" + room),
                            s -> s.path("likes").asLong() == 5 && s.path("gifts").has("rocket"));
            assertThat(snapshot.path("room").asString()).isEqualTo(room);
            assertThat(snapshot.path("seq").asLong()).isGreaterThanOrEqualTo(0);
            assertThat(snapshot.path("viewers").asInt()).as("the viewer on gateway B").isEqualTo(1);
            assertThat(snapshot.path("gifts").path("rose").path("count").asLong()).isEqualTo(2);
            assertThat(snapshot.path("gifts").path("rocket").path("value").asLong()).isEqualTo(1000);
            assertThat(snapshot.path("top").get(0).path("user").path("name").asString()).isEqualTo("Giver");
            long giftCount = viewer.frames("batch").stream().flatMap(b -> stream(b.path("gifts")))
                    .mapToLong(g -> g.path("count").asLong()).sum();
            assertThat(giftCount).as("gift counts in the batches, the retry not among them").isEqualTo(3);

            // a late viewer's joined carries the room now: likes, gift totals, top list, viewers
            Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(100))
                    .until(() -> get(cluster.portA(), "/api/rooms/" + room),
                            s -> s.path("likes").asLong() == 5 && s.path("gifts").has("rocket"));
            try (WsClient late = WsClient.connect(cluster.portA(), "room=" + room)) {
                JsonNode joined = late.awaitFrame(type("joined", "room", room));
                assertThat(joined.path("likes").asLong()).isEqualTo(5);
                assertThat(joined.path("gifts").path("rose").path("count").asLong()).isEqualTo(2);
                assertThat(joined.path("gifts").path("rocket").path("value").asLong()).isEqualTo(1000);
                assertThat(joined.path("top").get(0).path("user").path("name").asString()).isEqualTo("Giver");
                assertThat(joined.path("top").get(0).path("value").asLong()).isEqualTo(1020);
                assertThat(joined.path("viewers").asInt()).isGreaterThanOrEqualTo(1);
            }
        }
    }

    @Test
    void aMutedUsersLaterCommentsAreNotBroadcastAndTheyAreToldMuted() {
        String room = Cluster.room("mute");
        String streamerToken = cluster.token("Host", "streamer", List.of(room));
        String bobToken = cluster.viewerToken("Bob");
        try (WsClient viewer = WsClient.connect(cluster.portA(), "room=" + room);
             WsClient streamer = WsClient.connect(cluster.portA(), "token=" + streamerToken + "&room=" + room);
             WsClient bob = WsClient.connect(cluster.portB(), "token=" + bobToken + "&room=" + room)) {
            viewer.awaitFrame(type("joined", "room", room));
            String bobId = bob.awaitFrame(type("welcome")).path("user").path("id").asString();
            bob.awaitFrame(type("joined", "room", room));
            bob.send(comment(room, "b-before", "before the mute"));
            viewer.awaitFrame(f -> holds(f, "b-before"));

            streamer.send("{\"type\":\"mute\",\"room\":\"" + room + "\",\"user\":\"" + bobId + "\",\"seconds\":600}");
            // same connection, same partition: once this marker is shown the mute was applied
            streamer.send(comment(room, "s-marker", "muted bob"));
            viewer.awaitFrame(f -> holds(f, "s-marker"));
            // until bob's gateway has read the mute, a comment is acked (and dropped by the
            // aggregator); then bob is told: error muted
            int[] tries = {0};
            Awaitility.await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(200)).until(() -> {
                String id = "b-after-" + tries[0]++;
                bob.send(comment(room, id, "am I muted? " + id));
                return bob.awaitFrame(f -> id.equals(f.path("id").asString())
                        && (f.path("type").asString().equals("ack") || f.path("type").asString().equals("error")))
                        .path("code").asString().equals("muted");
            });
            streamer.send(comment(room, "s-final", "after bob's comments"));
            viewer.awaitFrame(f -> holds(f, "s-final"));

            assertThat(viewer.comments(room)).extracting(c -> c.path("id").asString())
                    .containsExactly("b-before", "s-marker", "s-final");
        }
    }

    @Test
    void viewersOnBothGatewaysAreCountedTogetherOnTheRoomsBatches() {
        String room = Cluster.room("viewers");
        String token = cluster.viewerToken("Counter");
        try (WsClient onA = WsClient.connect(cluster.portA(), "room=" + room);
             WsClient onB = WsClient.connect(cluster.portB(), "token=" + token + "&room=" + room)) {
            onA.awaitFrame(type("joined", "room", room));
            onB.awaitFrame(type("joined", "room", room));
            onB.send(comment(room, "v-1", "hello")); // the room's first message creates its topic

            // each gateway publishes its count every 5 s; the aggregator sums them
            JsonNode batch = onA.awaitFrame(f -> f.path("type").asString().equals("batch")
                    && f.path("viewers").asInt() == 2, TIMEOUT);
            assertThat(batch.path("room").asString()).isEqualTo(room);
        }
    }

    @Test
    void theRoomSnapshotOfAnInvalidRoomIsABadRequest() throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder()
                .uri(URI.create("http://localhost:" + cluster.portA() + "/api/rooms/bad%20room")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(WsClient.JSON.readTree(response.body()).path("code").asString()).isEqualTo("bad_request");
    }

    private static java.util.stream.Stream<JsonNode> stream(JsonNode array) {
        return java.util.stream.StreamSupport.stream(array.spliterator(), false);
    }

    @Test
    void theStreamerPutsTheRoomInSlowModeAndAViewersSecondCommentIsNotBroadcast() {
        String room = Cluster.room("slow");
        String streamerToken = cluster.token("Host", "streamer", List.of(room));
        String bobToken = cluster.viewerToken("Bob");
        try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room);
             WsClient streamer = WsClient.connect(cluster.portA(), "token=" + streamerToken + "&room=" + room);
             WsClient bob = WsClient.connect(cluster.portA(), "token=" + bobToken + "&room=" + room)) {
            viewer.awaitFrame(type("joined", "room", room));
            streamer.awaitFrame(type("joined", "room", room));
            bob.awaitFrame(type("joined", "room", room));

            streamer.send("{\"type\":\"slow_mode\",\"room\":\"" + room + "\",\"seconds\":60}");
            // same connection, same partition: once this is acked the slow mode is stored before it
            streamer.send(comment(room, "s-slow", "slow mode on"));
            streamer.awaitFrame(type("ack", "id", "s-slow"));
            bob.send(comment(room, "b-1", "first"));
            bob.awaitFrame(type("ack", "id", "b-1"));
            bob.send(comment(room, "b-2", "second, too soon"));
            bob.awaitFrame(type("ack", "id", "b-2"));
            streamer.send(comment(room, "s-end", "the streamer is not limited"));
            viewer.awaitFrame(f -> holds(f, "s-end"));

            assertThat(viewer.comments(room)).extracting(c -> c.path("id").asString())
                    .containsExactly("s-slow", "b-1", "s-end");
        }
    }

    private static boolean holds(JsonNode frame, String commentId) {
        return frame.path("type").asString().equals("batch")
                && stream(frame.path("comments")).anyMatch(c -> c.path("id").asString().equals(commentId));
    }

    private static String gift(String room, String id, String gift, int count) {
        return "{\"type\":\"gift\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"gift\":\"" + gift
                + "\",\"count\":" + count + "}";
    }

    private static String comment(String room, String id, String text) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + text + "\"}";
    }

    private static JsonNode get(int port, String path) throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder()
                .uri(URI.create("http://localhost:" + port + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return WsClient.JSON.readTree(response.body());
    }
}
