package dev.danmaku.standalone;

import static dev.danmaku.standalone.WsClient.type;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/** The walking skeleton's path: a comment goes from one viewer, through Kafka and the aggregator, to every viewer of its room. */
class CommentDeliveryTest {

    private final Cluster cluster = Cluster.get();

    private static String comment(String room, String id, String text) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + text + "\"}";
    }

    private static boolean batchHolds(JsonNode frame, String commentId) {
        return frame.path("type").asString().equals("batch")
                && frame.path("comments").valueStream().anyMatch(c -> c.path("id").asString().equals(commentId));
    }

    @Test
    void aCommentReachesEveryViewerOfItsRoomOnBothGatewaysAndTheSenderGetsItsAck() {
        String room = Cluster.room("deliver");
        String token = cluster.token("Alice", "viewer", List.of());
        try (WsClient onA = WsClient.connect(cluster.portA(), "room=" + room);
             WsClient onB = WsClient.connect(cluster.portB(), "room=" + room);
             WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            for (WsClient client : List.of(onA, onB, sender)) {
                client.awaitFrame(type("joined", "room", room));
            }

            sender.send(comment(room, "c-7f3a", "233333"));

            sender.awaitFrame(type("ack", "id", "c-7f3a"));
            for (WsClient client : List.of(onA, onB, sender)) {
                JsonNode batch = client.awaitFrame(f -> batchHolds(f, "c-7f3a"));
                assertThat(batch.path("room").asString()).isEqualTo(room);
                assertThat(batch.path("seq").asLong()).isGreaterThanOrEqualTo(0);
                JsonNode comment = batch.path("comments").get(0);
                assertThat(comment.path("text").asString()).isEqualTo("233333");
                assertThat(comment.path("user").path("name").asString()).isEqualTo("Alice");
                assertThat(comment.path("color").asString()).isEqualTo("#ffffff");
                assertThat(comment.path("mode").asString()).isEqualTo("scroll");
            }
        }
    }

    @Test
    void fiftyCommentsSentWithinOneWindowArriveInFewerThanFiveBatches() {
        String room = Cluster.room("window");
        List<WsClient> senders = new ArrayList<>();
        try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room)) {
            viewer.awaitFrame(type("joined", "room", room));
            for (int i = 0; i < 50; i++) {
                senders.add(WsClient.connect(cluster.portA(), "token=" + cluster.viewerToken("user" + i)));
            }

            IntStream.range(0, 50).parallel().forEach(i -> senders.get(i).send(comment(room, "w-" + i, "hello " + i)));

            for (int i = 0; i < 50; i++) {
                senders.get(i).awaitFrame(type("ack", "id", "w-" + i));
            }
            Awaitility.await().until(() -> viewer.comments(room).size() >= 50);
            Set<String> ids = new HashSet<>();
            viewer.comments(room).forEach(c -> ids.add(c.path("id").asString()));
            assertThat(ids).hasSize(50);
            assertThat(viewer.comments(room)).hasSize(50);
            assertThat(viewer.frames("batch")).hasSizeLessThan(5);
        } finally {
            senders.forEach(WsClient::close);
        }
    }

    @Test
    void batchesArriveInSeqOrderAfterJoinedSeq() {
        String room = Cluster.room("order");
        String token = cluster.viewerToken("Orderly");
        try (WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            sender.awaitFrame(type("joined", "room", room));
            sender.send(comment(room, "first", "one"));
            sender.awaitFrame(f -> batchHolds(f, "first"));

            try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room)) {
                long joinedSeq = viewer.awaitFrame(type("joined", "room", room)).path("seq").asLong();
                assertThat(joinedSeq).isGreaterThanOrEqualTo(0);
                for (int i = 0; i < 5; i++) {
                    sender.send(comment(room, "later-" + i, "n" + i));
                    sender.awaitFrame(type("ack", "id", "later-" + i));
                }
                viewer.awaitFrame(f -> batchHolds(f, "later-4"));
                List<Long> seqs = viewer.frames("batch").stream().map(b -> b.path("seq").asLong()).toList();
                assertThat(seqs).isSorted().doesNotHaveDuplicates().allMatch(seq -> seq > joinedSeq);
                assertThat(viewer.comments(room)).extracting(c -> c.path("id").asString())
                        .containsExactly("later-0", "later-1", "later-2", "later-3", "later-4");
            }
        }
    }

    @Test
    void aRoomWithNoBatchesYetIsJoinedWithSeqMinusOne() {
        String room = Cluster.room("empty");
        try (WsClient viewer = WsClient.connect(cluster.portA(), "")) {
            viewer.send("{\"type\":\"join\",\"room\":\"" + room + "\"}");
            JsonNode joined = viewer.awaitFrame(type("joined", "room", room));
            assertThat(joined.path("seq").asLong()).isEqualTo(-1);
            assertThat(joined.path("recovered").asBoolean()).isFalse();
        }
    }

    @Test
    void aViewerWhoLeftARoomGetsNothingMoreFromIt() {
        String room = Cluster.room("leave");
        String token = cluster.viewerToken("Talker");
        try (WsClient sender = WsClient.connect(cluster.portB(), "token=" + token + "&room=" + room);
             WsClient leaver = WsClient.connect(cluster.portA(), "room=" + room);
             WsClient stayer = WsClient.connect(cluster.portA(), "room=" + room)) {
            leaver.awaitFrame(type("joined", "room", room));
            stayer.awaitFrame(type("joined", "room", room));
            sender.awaitFrame(type("joined", "room", room));
            sender.send(comment(room, "before", "still here"));
            leaver.awaitFrame(f -> batchHolds(f, "before"));

            leaver.send("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
            leaver.awaitFrame(type("left", "room", room));
            sender.send(comment(room, "after", "gone"));
            stayer.awaitFrame(f -> batchHolds(f, "after"));
            // a pong queued behind anything the room could still have sent
            leaver.send("{\"type\":\"ping\",\"ts\":1}");
            leaver.awaitFrame(type("pong"));

            assertThat(leaver.frames()).noneMatch(f -> batchHolds(f, "after"));
        }
    }

    @Test
    void aViewerReturningWithSinceGetsTheBatchesItMissedInOrder() {
        String room = Cluster.room("resume");
        String token = cluster.viewerToken("Resumer");
        try (WsClient sender = WsClient.connect(cluster.portA(), "token=" + token + "&room=" + room)) {
            sender.awaitFrame(type("joined", "room", room));
            long lastSeen;
            try (WsClient viewer = WsClient.connect(cluster.portB(), "room=" + room)) {
                viewer.awaitFrame(type("joined", "room", room));
                sender.send(comment(room, "seen", "seen"));
                lastSeen = viewer.awaitFrame(f -> batchHolds(f, "seen")).path("seq").asLong();
            }
            for (int i = 0; i < 3; i++) {
                sender.send(comment(room, "missed-" + i, "missed " + i));
            }
            sender.awaitFrame(f -> batchHolds(f, "missed-2"));

            try (WsClient back = WsClient.connect(cluster.portA(), "room=" + room + "&since=" + lastSeen)) {
                JsonNode joined = back.awaitFrame(type("joined", "room", room));
                assertThat(joined.path("recovered").asBoolean()).isTrue();
                back.awaitFrame(f -> batchHolds(f, "missed-2"));
                assertThat(back.comments(room)).extracting(c -> c.path("id").asString())
                        .containsExactly("missed-0", "missed-1", "missed-2");
            }
        }
    }

    @Test
    void pingIsAnsweredWithPongByTheGateway() {
        try (WsClient client = WsClient.connect(cluster.portB(), "")) {
            client.send("{\"type\":\"ping\",\"ts\":1732230000000}");
            JsonNode pong = client.awaitFrame(type("pong"));
            assertThat(pong.path("ts").asLong()).isEqualTo(1732230000000L);
            assertThat(pong.path("serverTs").asLong()).isPositive();
        }
    }

    @Test
    void welcomeTellsWhoTheViewerIsAndTheHeartbeat() {
        String token = cluster.token("Streamer", "streamer", List.of("r1"));
        try (WsClient client = WsClient.connect(cluster.portA(), "token=" + token)) {
            JsonNode welcome = client.awaitFrame(type("welcome"));
            assertThat(welcome.path("conn").asString()).isNotBlank();
            assertThat(welcome.path("user").path("name").asString()).isEqualTo("Streamer");
            assertThat(welcome.path("user").path("role").asString()).isEqualTo("streamer");
            assertThat(welcome.path("heartbeat").path("interval").asLong()).isPositive();
            assertThat(welcome.path("heartbeat").path("timeout").asLong()).isPositive();
            assertThat(welcome.path("limits").path("maxTextLength").asInt()).isEqualTo(100);
        }
    }
}
