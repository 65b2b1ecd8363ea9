package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * Viewers that stop reading, against a real broker and real sockets: a small outbound queue
 * (64) and a short lag limit (4 s), so that they lag soon. Batches are written to the room topic
 * by the test (no aggregator here), each a few KiB so that socket buffers fill quickly.
 */
class SlowViewerIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final BusCodec BUS = new BusCodec();
    private static final int MAX_BATCHES = 20_000;

    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static Admin admin;
    private static KafkaProducer<byte[], byte[]> producer;
    private static int blockingMark;

    @BeforeAll
    static void start() {
        blockingMark = BlockingCalls.count();
        LocalKafka kafka = LocalKafka.shared();
        gateway = GatewayApplication.builder()
                .properties(
                        "server.port=0",
                        "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                        "danmaku.dev-mode=true",
                        "danmaku.node-id=slow",
                        "danmaku.outbound.queue-capacity=64",
                        "danmaku.outbound.max-lag=4s")
                .run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    }

    @AfterAll
    static void stop() {
        producer.close();
        admin.close();
        gateway.close();
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    private static ServerFrame.Batch commentBatch(String room, int n) {
        long ts = System.currentTimeMillis();
        List<ServerFrame.BatchComment> comments = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            comments.add(new ServerFrame.BatchComment("c-" + n + "-" + i, new User("u9", "Bo"),
                    (n + "-" + i + " " + "x".repeat(90)).substring(0, 90), "#ffffff", Mode.SCROLL, ts));
        }
        return ServerFrame.Batch.ofComments(room, ts, comments, 0);
    }

    private static ServerFrame.Batch giftBatch(String room) {
        long ts = System.currentTimeMillis();
        return new ServerFrame.Batch(room, -1, ts,
                List.of(new ServerFrame.BatchComment("c-gift", new User("u9", "Bo"), "with a gift", "#ffffff",
                        Mode.SCROLL, ts)),
                null, List.of(new ServerFrame.GiftEntry(new User("u7", "Gi"), "rocket", 1, 1000, 1)), null, 0,
                new ServerFrame.Totals(Map.of("rocket", new ServerFrame.GiftTotal(1, 1000)), null));
    }

    private static long publish(ServerFrame.Batch batch) throws Exception {
        return producer.send(new ProducerRecord<>(Topics.room(batch.room()),
                batch.room().getBytes(StandardCharsets.UTF_8), BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS).offset();
    }

    /** Publishes comment batches until the condition holds; returns the offsets written. */
    private static List<Long> publishUntil(String room, BooleanSupplier condition) throws Exception {
        List<Long> offsets = new ArrayList<>();
        while (!condition.getAsBoolean()) {
            assertThat(offsets.size()).as("batches published before the condition held").isLessThan(MAX_BATCHES);
            offsets.add(publish(commentBatch(room, offsets.size())));
        }
        return offsets;
    }

    private static List<Long> batchSeqs(List<JsonNode> frames) {
        return frames.stream().filter(f -> f.path("type").asString().equals("batch"))
                .map(f -> f.path("seq").asLong()).toList();
    }

    @Test
    void viewersThatStopReadingAreDegradedThenClosedWith1013WhileTheOthersKeepReceivingEverything()
            throws Exception {
        OutboundStats stats = gateway.getBean(GatewayWebSocketHandler.class).outboundStats();
        GatewayWebSocketHandler handler = gateway.getBean(GatewayWebSocketHandler.class);
        long droppedBefore = stats.droppedComments();
        String room = "slow-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);

        HttpClient http = HttpClient.newHttpClient();
        URI uri = URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room);
        List<WsClient> fast = List.of(WsClient.connect(http, uri), WsClient.connect(http, uri));
        fast.forEach(client -> client.next("joined"));
        try (RawWsClient stalled = new RawWsClient(port, "room=" + room);
             RawWsClient paused = new RawWsClient(port, "room=" + room)) {
            paused.startReading();
            await().atMost(WAIT).until(() -> batchSeqs(paused.frames()).isEmpty()
                    && paused.frames().stream().anyMatch(f -> f.path("type").asString().equals("joined")));
            long lagStarts = stats.lagStarts();

            // the stalled viewer never reads: its queue fills up and it lags
            List<Long> published = new ArrayList<>(publishUntil(room, () -> stats.lagStarts() > lagStarts));

            // the paused one stops for a while, lags, gets a gift while lagging, then catches up
            paused.pause();
            long skippedBefore = stats.skippedBatches();
            published.addAll(publishUntil(room, () -> stats.lagStarts() > lagStarts + 1
                    && stats.skippedBatches() > skippedBefore + 5));
            long gift = publish(giftBatch(room));
            published.add(gift);
            paused.startReading();
            await().atMost(WAIT).until(() -> batchSeqs(paused.frames()).contains(gift));
            long live = publish(commentBatch(room, -1));
            published.add(live);
            await().atMost(WAIT).until(() -> batchSeqs(paused.frames()).contains(live));

            List<JsonNode> pausedBatches = paused.frames().stream()
                    .filter(f -> f.path("type").asString().equals("batch")).toList();
            List<Long> pausedSeqs = batchSeqs(pausedBatches);
            assertThat(pausedSeqs).as("in order, never twice").isSorted().doesNotHaveDuplicates();
            assertThat(pausedSeqs.size()).as("some comment batches were skipped").isLessThan(published.size());
            JsonNode giftFrame = pausedBatches.stream().filter(f -> f.path("seq").asLong() == gift).findFirst()
                    .orElseThrow();
            assertThat(giftFrame.path("gifts").path(0).path("gift").asString()).isEqualTo("rocket");
            assertThat(giftFrame.path("totals").path("gifts").path("rocket").path("value").asLong()).isEqualTo(1000);
            int reportedDropped = pausedBatches.stream().mapToInt(f -> f.path("dropped").asInt(0)).sum();
            int commentsSeen = pausedBatches.stream().mapToInt(f -> f.path("comments").size()).sum();
            int commentsPublished = (published.size() - 1) * 20 + 1;
            assertThat(reportedDropped).as("what was skipped is reported in dropped").isPositive();
            assertThat(commentsSeen + reportedDropped).as("every comment either seen or counted as dropped")
                    .isEqualTo(commentsPublished);
            assertThat(paused.ended()).as("the paused viewer caught up and stays").isFalse();
            assertThat(stats.droppedComments() - droppedBefore)
                    .as("the metrics' slow drops: the paused viewer's, and the stalled one's")
                    .isGreaterThan(reportedDropped);

            // the stalled one is closed after max-lag, its socket dropped
            await().atMost(WAIT).until(() -> stats.slowCloses() >= 1);
            stalled.startReading();
            await().atMost(WAIT).until(stalled::ended);
            assertThat(stalled.closeCode()).as("a close frame, if one got through, says 1013").isIn(null, 1013);
            await().atMost(WAIT).until(() -> handler.openConnections() == 3);
            assertThat(stats.slowCloses()).isOne();

            // the fast viewers got every batch, in order
            for (WsClient client : fast) {
                client.next(f -> f.path("seq").asLong() == live, "the last batch");
                assertThat(batchSeqs(client.seen())).isEqualTo(published);
                client.close();
            }
        }
    }
}
