package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
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
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's metrics ({@link GatewayMetrics}) read from {@code /actuator/prometheus} while
 * real WebSocket and Server-Sent Events clients send and watch, against the shared real broker. The test stands in for
 * the aggregator: it reads the comments the gateway published to {@code danmaku.ingress} and
 * writes them, with their accept timestamps, as one batch to the room's topic.
 */
class GatewayMetricsIntegrationTest {

    private static final Duration WAIT = WsClient.WAIT;
    private static final BusCodec BUS = new BusCodec();

    private static LocalKafka kafka;
    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static HttpClient http;
    private static int blockingMark;

    @BeforeAll
    static void start() {
        blockingMark = BlockingCalls.count();
        kafka = LocalKafka.shared();
        gateway = GatewayApplication.builder()
                .properties(
                        "server.port=0",
                        "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                        "danmaku.dev-mode=true",
                        "danmaku.node-id=metrics")
                .run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() {
        gateway.close();
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    @Test
    void countersMoveByWhatViewersWereWrittenAndTheLatencyHistogramSamplesOneBatchInEightPerViewer() throws Exception {
        String room = "metrics-" + UUID.randomUUID().toString().substring(0, 8);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, Double> before = scrape();

        // four viewers (two JSON, one CBOR, one Server-Sent Events) and a sender that watches nothing
        List<String> sse = new CopyOnWriteArrayList<>();
        HttpResponse<Stream<String>> sseResponse = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/sse/rooms/" + room)).build(), HttpResponse.BodyHandlers.ofLines());
        Thread sseReader = new Thread(() -> sseResponse.body().forEach(sse::add), "sse-reader");
        sseReader.setDaemon(true);
        sseReader.start();
        await().atMost(WAIT).until(() -> sse.stream().anyMatch(line -> line.startsWith("event:joined")));
        List<WsClient> json = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            json.add(WsClient.connect(ws("room=" + room)));
        }
        WsClient cbor = WsClient.connectCbor(ws("room=" + room));
        List<WsClient> viewers = new ArrayList<>(json);
        viewers.add(cbor);
        viewers.forEach(viewer -> viewer.next("joined"));
        WsClient sender = WsClient.connect(ws("token=" + devToken("Sam")));
        json.add(sender);
        sender.next("welcome");

        // three comments acked, then a burst beyond the limit (10) and a frame the codec refuses
        for (int i = 0; i < 3; i++) {
            sender.send(comment(room, "m-" + i));
            assertThat(sender.next("ack").path("id").asString()).isEqualTo("m-" + i);
        }
        for (int i = 3; i < 15; i++) {
            sender.send(comment(room, "m-" + i));
        }
        sender.send("{\"type\":\"comment\",\"room\":\"" + room + "\"}"); // no id, no text
        int answers = 0;
        boolean refusedAsInvalid = false;
        while (answers < 12 || !refusedAsInvalid) {
            JsonNode frame = sender.next();
            String code = frame.path("code").asString();
            if (code.equals("bad_request")) {
                refusedAsInvalid = true;
            } else if (frame.path("type").asString().equals("ack") || code.equals("rate_limited")) {
                answers++;
            }
        }
        long rateLimited = sender.seen().stream().filter(f -> f.path("code").asString().equals("rate_limited")).count();
        assertThat(rateLimited).as("sends beyond the burst of 10").isPositive();

        // the aggregator's part: the first three comments, with their accept times, as one batch,
        // then seven batches of one comment (a latency sample is one batch in eight per viewer)
        List<ServerFrame.BatchComment> accepted = acceptedComments(room, List.of("m-0", "m-1", "m-2"));
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            for (int i = 0; i < GatewayMetrics.LATENCY_STRIDE; i++) {
                long now = System.currentTimeMillis();
                List<ServerFrame.BatchComment> comments = i == 0 ? accepted : List.of(new ServerFrame.BatchComment(
                        "b-" + i, accepted.get(0).user(), "batch " + i, "#ffffff", Mode.SCROLL, now));
                producer.send(new ProducerRecord<>(Topics.room(room), room.getBytes(StandardCharsets.UTF_8),
                        BUS.encodeBatch(ServerFrame.Batch.ofComments(room, now, comments, 0)))).get(30, TimeUnit.SECONDS);
            }
        }
        for (WsClient viewer : viewers) {
            assertThat(viewer.next("batch").path("comments")).hasSize(3);
            for (int i = 1; i < GatewayMetrics.LATENCY_STRIDE; i++) {
                assertThat(viewer.next("batch").path("comments")).hasSize(1);
            }
        }
        await().atMost(WAIT).until(() -> sse.stream().filter(line -> line.startsWith("event:batch")).count()
                == GatewayMetrics.LATENCY_STRIDE);
        int comments = 3 + GatewayMetrics.LATENCY_STRIDE - 1;

        int jsonFrames = json.stream().mapToInt(c -> c.drain().size()).sum();
        int cborFrames = cbor.drain().size();
        await().atMost(WAIT).untilAsserted(() -> {
            Map<String, Double> after = scrape();
            assertThat(delta(before, after, "danmaku_gateway_deliveries_total"))
                    .as("deliveries = comments x 4 viewers").isEqualTo(comments * 4);
            assertThat(delta(before, after, "danmaku_gateway_joins_total")).isEqualTo(4);
            assertThat(delta(before, after, "danmaku_gateway_batches_total")).as("batches read")
                    .isEqualTo(GatewayMetrics.LATENCY_STRIDE);
            assertThat(delta(before, after, "danmaku_gateway_frames_out_total", "codec=\"cbor\""))
                    .as("welcome, joined, the batches").isEqualTo(cborFrames).isEqualTo(2 + GatewayMetrics.LATENCY_STRIDE);
            assertThat(delta(before, after, "danmaku_gateway_frames_out_total", "codec=\"sse\""))
                    .as("joined, the batches").isEqualTo(1 + GatewayMetrics.LATENCY_STRIDE);
            assertThat(delta(before, after, "danmaku_gateway_frames_out_total", "codec=\"json\""))
                    .as("every frame the JSON clients received").isEqualTo(jsonFrames);
            assertThat(delta(before, after, "danmaku_gateway_bytes_out_total", "codec=\"cbor\"")).isPositive();
            assertThat(delta(before, after, "danmaku_gateway_bytes_out_total", "codec=\"json\""))
                    .isGreaterThan(delta(before, after, "danmaku_gateway_frames_out_total", "codec=\"json\"") * 10);
            assertThat(delta(before, after, "danmaku_gateway_drops_total", "reason=\"rate_limited\""))
                    .isEqualTo(rateLimited);
            assertThat(delta(before, after, "danmaku_gateway_drops_total", "reason=\"bad_request\"")).isEqualTo(1);
            assertThat(seriesIn(after, "danmaku_gateway_drops_total", "reason=\"slow\"")).isNotEmpty();

            // one sample per viewer in eight batches, all of them within 30 s of acceptance
            assertThat(delta(before, after, "danmaku_gateway_latency_seconds_count")).isEqualTo(4);
            assertThat(delta(before, after, "danmaku_gateway_latency_seconds_bucket", "le=\"+Inf\"")).isEqualTo(4);
            assertThat(delta(before, after, "danmaku_gateway_latency_seconds_bucket", "le=\"30.0\"")).isEqualTo(4);
            assertThat(delta(before, after, "danmaku_gateway_latency_seconds_sum")).isGreaterThanOrEqualTo(0);

            assertThat(after.get(seriesIn(after, "danmaku_gateway_consumer_lag"))).as("caught up").isEqualTo(0.0);
            assertThat(after.get(seriesIn(after, "resilience4j_circuitbreaker_state", "name=\"ingress\"",
                    "state=\"closed\"")))
                    .isEqualTo(1.0);
        });
        json.forEach(WsClient::close);
        cbor.close();
        sseResponse.body().close();
    }

    // ---- helpers ----

    private static URI ws(String query) {
        return URI.create("ws://127.0.0.1:" + port + "/ws?" + query);
    }

    private static String comment(String room, String id) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"hello " + id + "\"}";
    }

    private static String devToken(String name) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + "/api/dev/tokens")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(200);
        return JsonMapper.builder().build().readTree(response.body()).path("token").asString();
    }

    /** The comments with these ids as the gateway published them, as batch comments with their accept time. */
    private static List<ServerFrame.BatchComment> acceptedComments(String room, List<String> ids) {
        Map<String, ServerFrame.BatchComment> found = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.INGRESS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            await().atMost(WAIT).until(() -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (!new String(record.key(), StandardCharsets.UTF_8).equals(room)) {
                        continue;
                    }
                    Ingress ingress = BUS.decodeIngress(record.value());
                    if (ingress.frame() instanceof ClientFrame.Comment c && ids.contains(c.id())) {
                        found.put(c.id(), new ServerFrame.BatchComment(c.id(), ingress.user(), c.text(), c.color(),
                                c.mode(), ingress.ts()));
                    }
                }
                return found.size() == ids.size();
            });
        }
        return found.values().stream().sorted(Comparator.comparing(ServerFrame.BatchComment::id)).toList();
    }

    /** The gateway's metrics now: series (name and labels as rendered) to value. */
    private static Map<String, Double> scrape() throws Exception {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/prometheus"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Map<String, Double> series = new HashMap<>();
        for (String line : body.split("\n")) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            int space = line.lastIndexOf(' ');
            series.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
        }
        return series;
    }

    private static double delta(Map<String, Double> before, Map<String, Double> after, String metric, String... labels) {
        String key = seriesIn(after, metric, labels);
        return after.get(key) - before.getOrDefault(key, 0.0);
    }

    /** The one series of this metric with these labels (and perhaps others); fails when there is none or more. */
    private static String seriesIn(Map<String, Double> scrape, String metric, String... labels) {
        List<String> matches = scrape.keySet().stream()
                .filter(key -> key.equals(metric) || key.startsWith(metric + "{"))
                .filter(key -> List.of(labels).stream().allMatch(key::contains))
                .toList();
        assertThat(matches).as("series %s %s", metric, List.of(labels)).hasSize(1);
        return matches.get(0);
    }
}
