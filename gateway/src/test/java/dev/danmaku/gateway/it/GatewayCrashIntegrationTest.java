package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A gateway in a JVM of its own is killed (SIGKILL) while 200 viewers watch a room and 500
 * batches are written to it; every viewer reconnects to another gateway with {@code since} and
 * ends with all 500 batches exactly once, in order. The test writes the batches to the room topic
 * itself, standing in for the aggregator (the gateway module has none).
 */
class GatewayCrashIntegrationTest {

    private static final int VIEWERS = 200;
    private static final int BATCHES = 500;
    private static final Duration WAIT = Duration.ofSeconds(120);
    private static final BusCodec BUS = new BusCodec();

    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    /** A viewer that may move: its batches' seqs over all its connections. */
    private static final class Viewer {
        final List<Long> seqs = new ArrayList<>();
        WsClient client;
        long lastSeq;

        /** Keeps what the ended connection got and joins again on that gateway from its last seq. */
        void resume(int port, String room) {
            client.drain();
            List<Long> seen = batchSeqs(client);
            seqs.addAll(seen);
            if (!seen.isEmpty()) {
                lastSeq = seen.get(seen.size() - 1);
            }
            client.close();
            client = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room + "&since=" + lastSeq));
            assertThat(client.next("joined").path("recovered").asBoolean()).isTrue();
        }
    }

    private static List<Long> batchSeqs(WsClient client) {
        return client.seen().stream().filter(f -> f.path("type").asString().equals("batch"))
                .map(f -> f.path("seq").asLong()).toList();
    }

    @Test
    void viewersOfAKilledGatewayResumeOnAnotherWithEveryBatchExactlyOnce() throws Exception {
        LocalKafka kafka = LocalKafka.shared();
        int blockingMark = BlockingCalls.count();
        String room = "crash-" + UUID.randomUUID().toString().substring(0, 8);
        int childPort = freePort();
        Path log = dir.resolve("child-gateway.log");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), GatewayApplication.class.getName(),
                "--server.port=" + childPort,
                "--danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "--danmaku.dev-mode=true",
                "--danmaku.node-id=child")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
             KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
             ConfigurableApplicationContext survivor = GatewayApplication.builder().properties(
                     "server.port=0",
                     "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                     "danmaku.dev-mode=true",
                     "danmaku.node-id=survivor").run()) {
            admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            int survivorPort = survivor.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .alias("the child gateway is ready (log: " + log + ")")
                    .until(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + childPort
                            + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.discarding())
                            .statusCode() == 200);

            List<Viewer> viewers = new ArrayList<>();
            for (int i = 0; i < VIEWERS; i++) {
                Viewer viewer = new Viewer();
                viewer.client = WsClient.connect(URI.create("ws://127.0.0.1:" + childPort + "/ws?room=" + room));
                viewer.lastSeq = viewer.client.next("joined").path("seq").asLong();
                viewers.add(viewer);
            }

            List<Long> published = new ArrayList<>();
            for (int n = 0; n < BATCHES; n++) {
                if (n == BATCHES / 3) {
                    child.destroyForcibly(); // SIGKILL: no drain, no close frames
                    assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
                }
                long ts = System.currentTimeMillis();
                ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                        "c-" + n, new User("u1", "Al"), "comment " + n, "#ffffff", Mode.SCROLL, ts)), 0);
                published.add(producer.send(new ProducerRecord<>(Topics.room(room),
                        room.getBytes(StandardCharsets.UTF_8), BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS)
                        .offset());
            }

            // each viewer notices its gateway is gone and resumes on the survivor from its last seq
            long last = published.get(published.size() - 1);
            for (Viewer viewer : viewers) {
                viewer.client.closeCode(); // waits for the connection to end (abnormally: -1 or 1006)
                viewer.resume(survivorPort, room);
            }
            // A resumed connection that ends before the last batch resumes again, as a client does (CI saw one
            // such end once, cause unknown: the JDK client's, see docs/gateway.md); one still open that stalls fails
            List<String> endedEarly = new ArrayList<>();
            for (Viewer viewer : viewers) {
                for (int attempt = 1; ; attempt++) {
                    try {
                        viewer.client.next(f -> f.path("seq").asLong() == last, "the last batch");
                        break;
                    } catch (AssertionError e) {
                        if (!viewer.client.isClosed() || attempt == 3) {
                            throw new AssertionError(e.getMessage() + "; blocking calls on the survivor's non-blocking"
                                    + " threads: " + BlockingCalls.since(blockingMark), e);
                        }
                        endedEarly.add(e.getMessage().substring(0, Math.min(600, e.getMessage().length())));
                        viewer.resume(survivorPort, room);
                    }
                }
                viewer.seqs.addAll(batchSeqs(viewer.client));
                assertThat(viewer.seqs).as("all %d batches, each once, in order", BATCHES).isEqualTo(published);
                viewer.client.close();
            }
            System.out.println("resumed connections that ended before the last batch: " + endedEarly.size()
                    + " of " + VIEWERS + endedEarly);
            assertThat(endedEarly).as("resumed connections that ended early").hasSizeLessThan(VIEWERS / 20);
        } finally {
            child.destroyForcibly();
        }
        assertThat(Files.exists(log)).isTrue();
    }
}
