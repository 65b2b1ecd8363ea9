package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A gateway shutting down under viewers and a sender: readiness goes down, viewers are closed
 * with 1012 in waves over the drain period and resume on another gateway without a gap or a
 * duplicate, and every send acknowledged on the draining node is stored.
 */
class DrainIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final BusCodec BUS = new BusCodec();

    private static ConfigurableApplicationContext start(String node, String drain) {
        return GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=" + node,
                "danmaku.drain.period=" + drain,
                "danmaku.drain.waves=5").run();
    }

    private static int port(ConfigurableApplicationContext context) {
        return context.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
    }

    @Test
    void onShutdownReadinessGoesDownAndViewersAreClosed1012InWavesThenResumeElsewhereWithoutGaps() throws Exception {
        int blockingMark = BlockingCalls.count();
        LocalKafka kafka = LocalKafka.shared();
        String room = "drain-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
             ConfigurableApplicationContext other = start("drain-b", "1s")) {
            admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            List<Long> published = new CopyOnWriteArrayList<>();
            Runnable publish = () -> {
                long ts = System.currentTimeMillis();
                ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                        "c-" + published.size(), new User("u9", "Bo"), "n" + published.size(), "#ffffff", Mode.SCROLL,
                        ts)), 0);
                try {
                    published.add(producer.send(new ProducerRecord<>(Topics.room(room),
                            room.getBytes(StandardCharsets.UTF_8), BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS)
                            .offset());
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            };
            publish.run();

            ConfigurableApplicationContext draining = start("drain-a", "5s");
            int port = port(draining);
            HttpClient http = HttpClient.newHttpClient();
            String token = JsonMapper.builder().build().readTree(http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"Sam\"}")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).path("token").asString();
            List<WsClient> viewers = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                WsClient viewer = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room));
                viewer.next("joined");
                viewers.add(viewer);
            }
            WsClient sender = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?token=" + token));
            sender.next("welcome");
            publish.run();
            for (WsClient viewer : viewers) {
                viewer.next(f -> f.path("seq").asLong() == published.get(1), "the second batch");
            }
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                    .isEqualTo(200);

            CompletableFuture<Void> closing = CompletableFuture.runAsync(draining::close);
            await().atMost(WAIT).until(() -> {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.ofString());
                return r.statusCode() == 503;
            });

            // while draining: sends still acknowledged, batches still delivered to those not yet closed
            Set<String> acked = new HashSet<>();
            for (int i = 0; i < 3 && !sender.isClosed(); i++) {
                String id = "d-" + i;
                sender.send("{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"hi\"}");
                JsonNode answer = sender.next(f -> f.path("id").asString().equals(id) || sender.isClosed(), "answer");
                if (answer.path("type").asString().equals("ack")) {
                    acked.add(id);
                }
            }
            publish.run();

            await().atMost(WAIT).until(() -> viewers.stream().anyMatch(WsClient::isClosed));
            long closedInFirstWaves = viewers.stream().filter(WsClient::isClosed).count();
            assertThat(closedInFirstWaves).as("not all at once").isLessThan(viewers.size());
            publish.run();
            await().atMost(WAIT).until(() -> viewers.stream().allMatch(WsClient::isClosed));
            for (WsClient viewer : viewers) {
                assertThat(viewer.closeCode()).isEqualTo(CloseCode.SERVICE_RESTART.code());
            }
            closing.get(60, TimeUnit.SECONDS);
            publish.run();

            // each resumes on the other node from the last seq it saw: every batch exactly once
            int otherPort = port(other);
            for (WsClient viewer : viewers) {
                List<Long> seen = new ArrayList<>(viewer.seen().stream()
                        .filter(f -> f.path("type").asString().equals("batch"))
                        .map(f -> f.path("seq").asLong()).toList());
                WsClient resumed = WsClient.connect(URI.create("ws://127.0.0.1:" + otherPort + "/ws?room=" + room
                        + "&since=" + seen.get(seen.size() - 1)));
                assertThat(resumed.next("joined").path("recovered").asBoolean()).isTrue();
                long last = published.get(published.size() - 1);
                resumed.next(f -> f.path("seq").asLong() == last, "the last batch");
                resumed.seen().stream().filter(f -> f.path("type").asString().equals("batch"))
                        .forEach(f -> seen.add(f.path("seq").asLong()));
                assertThat(seen).as("every batch after the join, once, in order")
                        .isEqualTo(published.subList(1, published.size()));
                resumed.close();
            }

            // what was acknowledged on the draining node is stored
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
                List<TopicPartition> partitions = consumer.partitionsFor(Topics.INGRESS).stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                Set<String> stored = new HashSet<>();
                await().atMost(WAIT).until(() -> {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        Ingress ingress = BUS.decodeIngress(record.value());
                        if (ingress.room().equals(room) && ingress.frame() instanceof ClientFrame.Comment comment) {
                            stored.add(comment.id());
                        }
                    }
                    return stored.containsAll(acked);
                });
            }
        }
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }
}
