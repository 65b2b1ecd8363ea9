package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import tools.jackson.databind.json.JsonMapper;

/** The fallbacks for clients without a WebSocket: Server-Sent Events and the HTTP sends. */
class FallbackIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final BusCodec BUS = new BusCodec();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static HttpClient http;
    private static Admin admin;
    private static KafkaProducer<byte[], byte[]> producer;
    private static final List<CompletableFuture<?>> streams = new ArrayList<>();
    private static int blockingMark;

    @BeforeAll
    static void start() {
        blockingMark = BlockingCalls.count();
        LocalKafka kafka = LocalKafka.shared();
        gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=fallback",
                "danmaku.allowed-origins=http://good.example").run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        http = HttpClient.newHttpClient();
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    }

    @AfterAll
    static void stop() {
        streams.forEach(s -> s.cancel(true));
        producer.close();
        admin.close();
        gateway.close();
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    private static long publishBatch(String room, String text) throws Exception {
        long ts = System.currentTimeMillis();
        ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                "c-" + UUID.randomUUID().toString().substring(0, 8), new User("u9", "Bo"), text, "#ffffff",
                Mode.SCROLL, ts)), 0);
        return producer.send(new ProducerRecord<>(Topics.room(room), room.getBytes(StandardCharsets.UTF_8),
                BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS).offset();
    }

    /** One Server-Sent Event: its fields. */
    record Event(Map<String, String> fields) {
        String id() {
            return fields.get("id");
        }

        String event() {
            return fields.get("event");
        }

        JsonNode data() {
            return JSON.readTree(fields.get("data"));
        }
    }

    /** Opens an event stream; the events arrive in the returned queue. */
    private static LinkedBlockingQueue<Event> sse(String room, String lastEventId) {
        LinkedBlockingQueue<Event> events = new LinkedBlockingQueue<>();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sse/rooms/" + room))
                .header("Accept", "text/event-stream");
        if (lastEventId != null) {
            request.header("Last-Event-ID", lastEventId);
        }
        CompletableFuture<HttpResponse<Stream<String>>> response =
                http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofLines());
        streams.add(response.thenAcceptAsync(r -> {
            Map<String, String> fields = new HashMap<>();
            r.body().forEach(line -> {
                if (line.isEmpty()) {
                    if (!fields.isEmpty()) {
                        events.add(new Event(Map.copyOf(fields)));
                        fields.clear();
                    }
                    return;
                }
                int colon = line.indexOf(':');
                if (colon > 0) {
                    String value = line.substring(colon + 1);
                    fields.merge(line.substring(0, colon), value.startsWith(" ") ? value.substring(1) : value,
                            (a, b) -> a + "\n" + b);
                }
            });
        }));
        return events;
    }

    private static Event next(LinkedBlockingQueue<Event> events) throws InterruptedException {
        Event event = events.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(event).as("an event within " + WAIT).isNotNull();
        return event;
    }

    private static String token(String name) throws Exception {
        return JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/dev/tokens"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body()).path("token").asString();
    }

    private static HttpResponse<String> post(String path, String token, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String code(HttpResponse<String> response) {
        return JSON.readTree(response.body()).path("code").asString();
    }

    @Test
    void serverSentEventsCarryTheRoomsBatchesWithTheirSeqAsIdAndLastEventIdResumes() throws Exception {
        String room = "sse-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        long first = publishBatch(room, "before");

        LinkedBlockingQueue<Event> events = sse(room, null);
        Event joined = next(events);
        assertThat(joined.event()).isEqualTo("joined");
        assertThat(joined.data().path("seq").asLong()).isEqualTo(first);
        long second = publishBatch(room, "second");
        long third = publishBatch(room, "third");
        Event batch = next(events);
        assertThat(batch.event()).isEqualTo("batch");
        assertThat(batch.id()).isEqualTo(Long.toString(second));
        assertThat(batch.data().path("comments").path(0).path("text").asString()).isEqualTo("second");
        assertThat(next(events).id()).isEqualTo(Long.toString(third));

        LinkedBlockingQueue<Event> resumed = sse(room, Long.toString(second));
        Event rejoined = next(resumed);
        assertThat(rejoined.data().path("recovered").asBoolean()).isTrue();
        assertThat(next(resumed).id()).isEqualTo(Long.toString(third));
        long live = publishBatch(room, "live");
        assertThat(next(resumed).id()).isEqualTo(Long.toString(live));
        assertThat(next(events).id()).isEqualTo(Long.toString(live));
    }

    @Test
    void aBadRoomOrLastEventIdIsRefusedWith400() throws Exception {
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sse/rooms/bad%20room"))
                .build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(400);
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/sse/rooms/r1"))
                .header("Last-Event-ID", "soon").build(), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(400);
    }

    @Test
    void httpSendsAreAcceptedOnlyOnceStoredWithTheWebSocketsChecks() throws Exception {
        String room = "http-" + UUID.randomUUID().toString().substring(0, 8);
        String token = token("Hal");
        String path = "/api/rooms/" + room;

        HttpResponse<String> comment = post(path + "/comments", token, "{\"id\":\"h-1\",\"text\":\"  hello  \"}");
        assertThat(comment.statusCode()).isEqualTo(202);
        assertThat(JSON.readTree(comment.body()).path("id").asString()).isEqualTo("h-1");
        assertThat(post(path + "/likes", token, "{\"count\":3}").statusCode()).isEqualTo(202);
        assertThat(post(path + "/gifts", token, "{\"id\":\"g-1\",\"gift\":\"rose\"}").statusCode()).isEqualTo(202);

        assertThat(post(path + "/comments", null, "{\"id\":\"h-2\",\"text\":\"hi\"}").statusCode()).isEqualTo(401);
        assertThat(post(path + "/comments", "not.a.token", "{\"id\":\"h-2\",\"text\":\"hi\"}").statusCode())
                .isEqualTo(401);
        HttpResponse<String> badText = post(path + "/comments", token, "{\"id\":\"h-3\",\"text\":\"a\\u0007b\"}");
        assertThat(badText.statusCode()).isEqualTo(400);
        assertThat(code(badText)).isEqualTo("bad_request");
        HttpResponse<String> tooLong = post(path + "/comments", token, "{\"id\":\"h-4\",\"text\":\"" + "x".repeat(101) + "\"}");
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(code(tooLong)).isEqualTo("too_long");
        assertThat(code(post(path + "/comments", token, "[1,2]"))).isEqualTo("bad_request");
        assertThat(code(post(path + "/gifts", token, "{\"id\":\"g-2\",\"gift\":\"yacht\"}"))).isEqualTo("unknown_gift");
        assertThat(post("/api/rooms/bad%20room/likes", token, "{}").statusCode()).isEqualTo(400);
        assertThat(post(path + "/likes", token, "{}", "Origin", "http://evil.example").statusCode()).isEqualTo(403);
        assertThat(post(path + "/likes", token, "{}", "Origin", "http://good.example").statusCode()).isEqualTo(202);

        // comments: 5 a second with bursts of 10, per user, as on a connection
        HttpResponse<String> limited = null;
        for (int i = 0; i < 15 && limited == null; i++) {
            HttpResponse<String> response = post(path + "/comments", token, "{\"id\":\"r-" + i + "\",\"text\":\"hi\"}");
            if (response.statusCode() == 429) {
                limited = response;
            }
        }
        assertThat(limited).as("rate limited within 15 comments").isNotNull();
        assertThat(code(limited)).isEqualTo("rate_limited");
        assertThat(limited.headers().firstValue("Retry-After")).hasValueSatisfying(
                seconds -> assertThat(Integer.parseInt(seconds)).isPositive());
    }
}
