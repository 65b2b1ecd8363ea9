package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.ingress.CircuitBreakingIngressPublisher;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The broker goes away and comes back under a gateway, with viewers connected: a broker of the
 * test's own (not the shared one), stopped and started again on the same port and data directory.
 */
class BrokerOutageIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** Sends a comment and returns the answer to it: "ack" or the error's code. */
    private static String send(WsClient client, String room, String id) {
        client.send("{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + id + "\"}");
        JsonNode answer = client.next(f -> f.path("id").asString().equals(id)
                && (f.path("type").asString().equals("ack") || f.path("type").asString().equals("error")), "answer to " + id);
        return answer.path("type").asString().equals("ack") ? "ack" : answer.path("code").asString();
    }

    @Test
    void whileTheBrokerIsAwaySendsAreAnsweredUnavailableViewersStayAndAllRecoversWithNothingAckedLost()
            throws Exception {
        int blockingMark = BlockingCalls.count();
        Path dir = Files.createTempDirectory("danmaku-outage-");
        int kafkaPort = freePort();
        LocalKafka kafka = LocalKafka.start(dir, kafkaPort);
        ConfigurableApplicationContext gateway = null;
        try {
            gateway = GatewayApplication.builder().properties(
                    "server.port=0",
                    "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                    "danmaku.dev-mode=true",
                    "danmaku.node-id=outage",
                    "danmaku.limits.comments-per-second=100",
                    "danmaku.limits.comment-burst=200",
                    "danmaku.ingress.breaker.wait-in-open=1s").run();
            int port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            CircuitBreaker breaker = gateway.getBean(CircuitBreakingIngressPublisher.class).breaker();
            HttpClient http = HttpClient.newHttpClient();
            String token = JsonMapper.builder().build().readTree(http.send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"Sue\"}")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).path("token").asString();
            String room = "outage";
            WsClient viewer = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room));
            viewer.next("joined");
            WsClient sender = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?token=" + token));
            sender.next("welcome");

            Set<String> acked = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                assertThat(send(sender, room, "before-" + i)).isEqualTo("ack");
                acked.add("before-" + i);
            }

            kafka.close();
            List<String> outage = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                String answer = send(sender, room, "during-" + i); // each is answered, none left hanging
                outage.add(answer);
                if (answer.equals("ack")) {
                    acked.add("during-" + i);
                }
            }
            assertThat(outage).as("after the broker left").endsWith("unavailable", "unavailable", "unavailable");
            assertThat(breaker.getState()).isIn(CircuitBreaker.State.OPEN, CircuitBreaker.State.HALF_OPEN);
            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/actuator/prometheus")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertThat(metrics).containsPattern(
                    "resilience4j_circuitbreaker_state\\{[^}]*name=\"ingress\"[^}]*state=\"(open|half_open)\"[^}]*} 1\\.0");
            HttpResponse<String> refused = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                            + "/api/rooms/" + room + "/comments"))
                    .header("Content-Type", "application/json").header("Authorization", "Bearer " + token)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"http-during\",\"text\":\"hi\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(refused.statusCode()).as("the HTTP send too").isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(viewer.isClosed()).as("viewers stay connected").isFalse();
            assertThat(sender.isClosed()).isFalse();

            kafka = LocalKafka.start(dir, kafkaPort);
            int[] attempt = {0};
            await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).until(() -> {
                String id = "after-" + attempt[0]++;
                boolean ok = send(sender, room, id).equals("ack");
                if (ok) {
                    acked.add(id);
                }
                return ok;
            });
            for (int i = 0; i < 5; i++) {
                assertThat(send(sender, room, "then-" + i)).isEqualTo("ack");
                acked.add("then-" + i);
            }
            assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
            assertThat(viewer.isClosed()).isFalse();

            // every acknowledged comment is in the ingress topic
            Set<String> stored = new HashSet<>();
            try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                    ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                    ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                    ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
                List<TopicPartition> partitions = consumer.partitionsFor(Topics.INGRESS).stream()
                        .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
                consumer.assign(partitions);
                consumer.seekToBeginning(partitions);
                BusCodec bus = new BusCodec();
                await().atMost(WAIT).until(() -> {
                    for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                        Ingress ingress = bus.decodeIngress(record.value());
                        if (ingress.frame() instanceof ClientFrame.Comment comment) {
                            stored.add(comment.id());
                        }
                    }
                    return stored.containsAll(acked);
                });
            }
            viewer.close();
            sender.close();
        } finally {
            if (gateway != null) {
                gateway.close();
            }
            kafka.close();
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }
}
