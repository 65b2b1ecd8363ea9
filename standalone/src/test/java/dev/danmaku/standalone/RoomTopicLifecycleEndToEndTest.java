package dev.danmaku.standalone;

import static dev.danmaku.standalone.WsClient.type;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.protocol.bus.Topics;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * Room topics follow live rooms, through the whole system: a room gets a topic with its first
 * message (not with its first viewer), loses it after {@link Cluster#ROOM_IDLE} without messages
 * or viewers, and gets a fresh one when it comes back, whose comments reach its viewers.
 */
class RoomTopicLifecycleEndToEndTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private final Cluster cluster = Cluster.get();

    private static String comment(String room, String id, String text) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + text + "\"}";
    }

    private static boolean batchHolds(JsonNode frame, String commentId) {
        return frame.path("type").asString().equals("batch")
                && frame.path("comments").valueStream().anyMatch(c -> c.path("id").asString().equals(commentId));
    }

    private Set<String> topics() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                cluster.kafka.bootstrapServers()))) {
            return admin.listTopics().names().get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void joiningARoomThatNeverHadAMessageCreatesNoTopic() throws Exception {
        String silent = Cluster.room("silent");
        String talking = Cluster.room("talking");
        String token = cluster.viewerToken("Alice");
        try (WsClient watcher = WsClient.connect(cluster.portA(), "room=" + silent);
             WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + talking)) {
            assertThat(watcher.awaitFrame(type("joined", "room", silent)).path("seq").asLong()).isEqualTo(-1);
            sender.awaitFrame(type("joined", "room", talking));
            sender.send(comment(talking, "t-1", "hello"));
            sender.awaitFrame(f -> batchHolds(f, "t-1"));

            // the gateway's viewer counts (both rooms, one report) reached the aggregator ...
            sender.awaitFrame(f -> f.path("type").asString().equals("batch") && f.path("viewers").asInt() >= 1, WAIT);
            // ... and the silent room, watched all along, has no topic
            assertThat(topics()).contains(Topics.room(talking));
            await().during(Duration.ofSeconds(2)).atMost(WAIT).until(() -> !topics().contains(Topics.room(silent)));
        }
    }

    @Test
    void anIdleRoomLosesItsTopicAndWhenItComesBackItsViewersGetItsComments() throws Exception {
        String room = Cluster.room("returning");
        String token = cluster.viewerToken("Bo");
        try (WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            sender.awaitFrame(type("joined", "room", room));
            sender.send(comment(room, "r-1", "before"));
            sender.awaitFrame(f -> batchHolds(f, "r-1"));
        }
        assertThat(topics()).contains(Topics.room(room));

        // nobody watches, nobody writes: the topic goes
        await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).until(() -> !topics().contains(Topics.room(room)));

        // the room comes back: a viewer on the other gateway sees the comments of its fresh topic
        try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room);
             WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            assertThat(viewer.awaitFrame(type("joined", "room", room)).path("seq").asLong()).isEqualTo(-1);
            sender.awaitFrame(type("joined", "room", room));
            sender.send(comment(room, "r-2", "after"));
            JsonNode batch = viewer.awaitFrame(f -> batchHolds(f, "r-2"), WAIT);
            assertThat(batch.path("seq").asLong()).isZero();
            assertThat(batch.path("comments").get(0).path("text").asString()).isEqualTo("after");
        }
        assertThat(topics()).contains(Topics.room(room));
    }
}
