package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.room.kafka.KafkaRoomFeed;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionException;
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
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.WebsocketClientSpec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway against a real Kafka broker, through real WebSocket connections, with BlockHound
 * watching the event loops (see {@link BlockingCalls}). Batches are written to the room topics by the test itself (there
 * is no aggregator here).
 */
class GatewayIntegrationTest {

    private static final Duration WAIT = WsClient.WAIT;
    private static final BusCodec BUS = new BusCodec();

    private static LocalKafka kafka;
    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static HttpClient http;
    private static Admin admin;
    private static KafkaProducer<byte[], byte[]> producer;
    private static final List<WsClient> clients = new ArrayList<>();
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
                        "danmaku.node-id=it",
                        "danmaku.heartbeat.interval=300ms",
                        "danmaku.heartbeat.timeout=1500ms",
                        "danmaku.feed.topic-check-interval=200ms")
                .run();
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
        clients.forEach(WsClient::close);
        producer.close();
        admin.close();
        gateway.close();
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    // ---- helpers ----

    private static String newRoom() {
        return "room-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private static URI ws(String query) {
        return URI.create("ws://127.0.0.1:" + port + "/ws" + (query.isEmpty() ? "" : "?" + query));
    }

    private static WsClient connect(String query) {
        WsClient client = WsClient.connect(ws(query));
        clients.add(client);
        return client;
    }

    private static HttpResponse<String> post(String path, String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static String devToken(String name, String role, List<String> rooms) throws Exception {
        String roomList = String.join(",", rooms.stream().map(r -> "\"" + r + "\"").toList());
        HttpResponse<String> response = post("/api/dev/tokens",
                "{\"name\":\"" + name + "\",\"role\":\"" + role + "\",\"rooms\":[" + roomList + "]}");
        assertThat(response.statusCode()).isEqualTo(200);
        return JsonMapper.builder().build().readTree(response.body()).path("token").asString();
    }

    private static void createRoomTopic(String room) throws Exception {
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }

    /** Writes a batch with one comment to the room's topic, as the aggregator would; returns its offset. */
    private static long publishBatch(String room, String text) throws Exception {
        long ts = System.currentTimeMillis();
        ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                "c-" + UUID.randomUUID().toString().substring(0, 8), new User("u9", "Bo"), text, "#ffffff",
                Mode.SCROLL, ts)), 0);
        return producer.send(new ProducerRecord<>(Topics.room(room), room.getBytes(StandardCharsets.UTF_8),
                BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS).offset();
    }

    private static String text(JsonNode batch) {
        return batch.path("comments").path(0).path("text").asString();
    }

    private static String comment(String room, String id, String text) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"text\":\"" + text + "\"}";
    }

    // ---- tests ----

    @Test
    void welcomeComesFirstThenJoinedWithSeqMinusOneForARoomWithoutBatches() {
        WsClient client = connect("");
        assertThat(client.subprotocol()).isEqualTo("danmaku.v1.json");
        JsonNode welcome = client.next();
        assertThat(welcome.path("type").asString()).isEqualTo("welcome");
        assertThat(welcome.path("conn").asString()).startsWith("it-");
        assertThat(welcome.path("heartbeat").path("interval").asLong()).isEqualTo(300);
        assertThat(welcome.path("heartbeat").path("timeout").asLong()).isEqualTo(1500);
        assertThat(welcome.path("limits").path("commentsPerSecond").asInt()).isEqualTo(5);

        String room = newRoom();
        client.send("{\"type\":\"join\",\"room\":\"" + room + "\"}");
        JsonNode joined = client.next("joined");
        assertThat(joined.path("room").asString()).isEqualTo(room);
        assertThat(joined.path("seq").asLong()).isEqualTo(-1);
        assertThat(joined.path("recovered").asBoolean()).isFalse();

        client.send("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
        assertThat(client.next("left").path("room").asString()).isEqualTo(room);
    }

    @Test
    void aCommentIsAckedOnceStoredOnTheIngressTopicKeyedByRoom() throws Exception {
        String room = newRoom();
        WsClient client = connect("token=" + devToken("Alice", "viewer", List.of()));
        assertThat(client.next("welcome").path("user").path("name").asString()).isEqualTo("Alice");
        client.send(comment(room, "c-it-1", "hello world"));
        assertThat(client.next("ack").path("id").asString()).isEqualTo("c-it-1");

        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.INGRESS).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            assertThat(partitions).hasSize(6);
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            List<ConsumerRecord<byte[], byte[]>> found = new ArrayList<>();
            await().atMost(WAIT).until(() -> {
                for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    if (new String(record.key(), StandardCharsets.UTF_8).equals(room)) {
                        found.add(record);
                    }
                }
                return !found.isEmpty();
            });
            Ingress ingress = BUS.decodeIngress(found.get(0).value());
            assertThat(ingress.node()).isEqualTo("it");
            assertThat(ingress.user().name()).isEqualTo("Alice");
            assertThat(ingress.frame()).isEqualTo(
                    new ClientFrame.Comment(room, "c-it-1", "hello world", "#ffffff", Mode.SCROLL));
        }
    }

    @Test
    void aModeratorsCommentsCarryTheModeratorRoleOnlyInTheRoomsOfTheirToken() throws Exception {
        String own = newRoom();
        String other = newRoom();
        WsClient client = connect("token=" + devToken("Mo", "moderator", List.of(own)));
        client.send(comment(own, "c-mod-1", "in my room"));
        client.next("ack");
        client.send(comment(other, "c-mod-2", "elsewhere"));
        client.next("ack");

        // the aggregator's density priority reads the role of the ingress record
        Map<String, Ingress> byRoom = new java.util.HashMap<>();
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
                    String key = new String(record.key(), StandardCharsets.UTF_8);
                    if (key.equals(own) || key.equals(other)) {
                        byRoom.put(key, BUS.decodeIngress(record.value()));
                    }
                }
                return byRoom.size() == 2;
            });
        }
        assertThat(byRoom.get(own).user().role()).isEqualTo(dev.danmaku.protocol.Role.MODERATOR);
        assertThat(byRoom.get(other).user().role()).isEqualTo(dev.danmaku.protocol.Role.VIEWER);
    }

    @Test
    void pingIsAnsweredWithPong() {
        WsClient client = connect("");
        client.send("{\"type\":\"ping\",\"ts\":1234}");
        JsonNode pong = client.next("pong");
        assertThat(pong.path("ts").asLong()).isEqualTo(1234);
        assertThat(pong.path("serverTs").asLong()).isCloseTo(System.currentTimeMillis(), Offset.offset(10_000L));
    }

    @Test
    void aBadFrameIsAnsweredWithAnErrorAndTheConnectionStaysOpen() {
        WsClient client = connect("");
        client.send("{not json");
        assertThat(client.next("error").path("code").asString()).isEqualTo("bad_request");
        client.send("{\"type\":\"teleport\",\"id\":\"x1\"}");
        JsonNode unknown = client.next("error");
        assertThat(unknown.path("code").asString()).isEqualTo("bad_request");
        assertThat(unknown.path("id").asString()).isEqualTo("x1");
        client.send("{\"type\":\"ping\"}");
        client.next("pong");
        assertThat(client.isClosed()).isFalse();
    }

    @Test
    void aFrameOver4KiBClosesTheConnectionWith1009() {
        WsClient client = connect("");
        client.next("welcome");
        client.send(comment("r1", "c-big", "x".repeat(5000)));
        assertThat(client.closeCode()).isEqualTo(CloseCode.MESSAGE_TOO_BIG.code());
    }

    @Test
    void aFragmentedMessageOver4KiBClosesTheConnectionWith1009() {
        WsClient client = connect("");
        client.next("welcome");
        String part = "x".repeat(2000);
        client.sendFragments("{\"type\":\"comment\",\"text\":\"" + part, part, part + "\"}");
        assertThat(client.closeCode()).isEqualTo(CloseCode.MESSAGE_TOO_BIG.code());
    }

    @Test
    void aBadTokenIsRefusedWith401BeforeTheUpgrade() {
        assertThatThrownBy(() -> WsClient.connect(ws("token=not.a.token")))
                .isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(WebSocketHandshakeException.class,
                        e -> assertThat(e.getResponse().statusCode()).isEqualTo(401));
    }

    @Test
    void aBearerHeaderIsAcceptedToo() throws Exception {
        String token = devToken("Carol", "viewer", List.of());
        WsClient client = WsClient.connectWithHeaders(ws(""), "Authorization", "Bearer " + token);
        clients.add(client);
        assertThat(client.next("welcome").path("user").path("name").asString()).isEqualTo("Carol");
    }

    @Test
    void anAnonymousViewerMayWatchButASendIsUnauthorized() {
        WsClient client = connect("");
        String room = newRoom();
        client.send("{\"type\":\"join\",\"room\":\"" + room + "\"}");
        client.next("joined");
        client.send(comment(room, "c-anon", "hi"));
        JsonNode error = client.next("error");
        assertThat(error.path("code").asString()).isEqualTo("unauthorized");
        assertThat(error.path("id").asString()).isEqualTo("c-anon");
    }

    @Test
    void joiningMoreThanTenRoomsIsRefused() {
        WsClient client = connect("");
        client.next("welcome");
        for (int i = 0; i < 11; i++) {
            client.send("{\"type\":\"join\",\"room\":\"" + newRoom() + "\"}");
        }
        List<String> answers = new ArrayList<>();
        for (int i = 0; i < 11; i++) {
            JsonNode frame = client.next();
            answers.add(frame.path("type").asString() + frame.path("code").asString(""));
        }
        assertThat(answers).containsOnly("joined", "errortoo_many_rooms");
        assertThat(answers).filteredOn("joined"::equals).hasSize(10);
    }

    @Test
    void batchesOfTheRoomTopicReachEveryViewerWithTheirOffsetAsSeq() throws Exception {
        String room = newRoom();
        createRoomTopic(room);
        long first = publishBatch(room, "before anyone joined");

        WsClient json = connect("room=" + room);
        WsClient cbor = WsClient.connectCbor(ws("room=" + room));
        clients.add(cbor);
        assertThat(cbor.subprotocol()).isEqualTo("danmaku.v1.cbor");
        assertThat(json.next("joined").path("seq").asLong()).isEqualTo(first);
        assertThat(cbor.next("joined").path("seq").asLong()).isEqualTo(first);

        long second = publishBatch(room, "live one");
        for (WsClient client : List.of(json, cbor)) {
            JsonNode batch = client.next("batch");
            assertThat(batch.path("seq").asLong()).isEqualTo(second);
            assertThat(batch.path("room").asString()).isEqualTo(room);
            assertThat(text(batch)).isEqualTo("live one");
        }
    }

    @Test
    void transactionalBatchesAreReadCommittedAndJoinedSeqIsTheLatestBatchNotItsMarker() throws Exception {
        String room = newRoom();
        createRoomTopic(room);
        try (KafkaProducer<byte[], byte[]> tx = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.TRANSACTIONAL_ID_CONFIG, "it-" + room,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            tx.initTransactions();
            long first = sendInTransaction(tx, room, "first", true);
            long second = sendInTransaction(tx, room, "second", true);
            assertThat(second).as("a commit marker lies between").isEqualTo(first + 2);

            WsClient client = connect("room=" + room);
            assertThat(client.next("joined").path("seq").asLong()).isEqualTo(second);

            sendInTransaction(tx, room, "aborted", false);
            long third = sendInTransaction(tx, room, "third", true);
            JsonNode batch = client.next("batch");
            assertThat(text(batch)).isEqualTo("third");
            assertThat(batch.path("seq").asLong()).isEqualTo(third);
        }
    }

    private static long sendInTransaction(KafkaProducer<byte[], byte[]> tx, String room, String text, boolean commit)
            throws Exception {
        long ts = System.currentTimeMillis();
        ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                "c-" + text, new User("u9", "Bo"), text, "#ffffff", Mode.SCROLL, ts)), 0);
        tx.beginTransaction();
        long offset = tx.send(new ProducerRecord<>(Topics.room(room), room.getBytes(StandardCharsets.UTF_8),
                BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS).offset();
        if (commit) {
            tx.commitTransaction();
        } else {
            tx.abortTransaction();
        }
        return offset;
    }

    @Test
    void aReconnectWithSinceGetsTheMissedBatchesThenLiveOnes() throws Exception {
        String room = newRoom();
        createRoomTopic(room);
        WsClient watcher = connect("room=" + room); // keeps the room followed on this node
        watcher.next("joined");
        WsClient client = connect("room=" + room);
        client.next("joined");
        long seen = publishBatch(room, "seen");
        assertThat(client.next("batch").path("seq").asLong()).isEqualTo(seen);
        client.close();

        long missed1 = publishBatch(room, "missed 1");
        long missed2 = publishBatch(room, "missed 2");
        watcher.next(f -> f.path("seq").asLong() == missed2, "the second missed batch");

        WsClient again = connect("room=" + room + "&since=" + seen);
        JsonNode joined = again.next("joined");
        assertThat(joined.path("recovered").asBoolean()).isTrue();
        assertThat(joined.path("seq").asLong()).isEqualTo(missed2);
        assertThat(again.next("batch").path("seq").asLong()).isEqualTo(missed1);
        assertThat(again.next("batch").path("seq").asLong()).isEqualTo(missed2);
        long live = publishBatch(room, "live");
        assertThat(again.next("batch").path("seq").asLong()).isEqualTo(live);
    }

    @Test
    void aResumeOnANodeNotYetFollowingTheRoomIsRecoveredFromTheWarmedRing() throws Exception {
        String room = newRoom();
        createRoomTopic(room);
        long seen = publishBatch(room, "seen elsewhere");
        long missed = publishBatch(room, "missed");

        WsClient client = connect("room=" + room + "&since=" + seen);
        JsonNode joined = client.next("joined");
        assertThat(joined.path("recovered").asBoolean()).isTrue();
        assertThat(joined.path("seq").asLong()).isEqualTo(missed);
        JsonNode batch = client.next("batch");
        assertThat(batch.path("seq").asLong()).isEqualTo(missed);
        assertThat(text(batch)).isEqualTo("missed");
    }

    @Test
    void aRoomWhoseTopicAppearsAfterTheJoinIsReadFromItsFirstBatch() throws Exception {
        String room = newRoom();
        WsClient client = connect("room=" + room);
        assertThat(client.next("joined").path("seq").asLong()).isEqualTo(-1);

        createRoomTopic(room);
        long first = publishBatch(room, "first ever");
        assertThat(first).isZero();
        JsonNode batch = client.next("batch");
        assertThat(batch.path("seq").asLong()).isZero();
        assertThat(text(batch)).isEqualTo("first ever");
    }

    @Test
    void aViewerOfARoomWhoseTopicIsDeletedAndRecreatedIsToldThatItsSeqStartsOverAndGetsTheNewBatches()
            throws Exception {
        String room = newRoom();
        createRoomTopic(room);
        publishBatch(room, "one");
        long old = publishBatch(room, "two");
        WsClient client = connect("room=" + room);
        assertThat(client.next("joined").path("seq").asLong()).isEqualTo(old);

        // the aggregator deletes an idle room's topic, and makes a fresh one when the room comes back
        admin.deleteTopics(List.of(Topics.room(room))).all().get(30, TimeUnit.SECONDS);
        JsonNode restarted = client.next("joined");
        assertThat(restarted.path("seq").asLong()).isEqualTo(-1);
        assertThat(restarted.path("recovered").asBoolean()).isFalse();

        await().atMost(WAIT).until(() -> {
            try {
                createRoomTopic(room);
                return true;
            } catch (java.util.concurrent.ExecutionException e) {
                return false; // the deletion is still being completed
            }
        });
        assertThat(publishBatch(room, "fresh")).isZero();
        JsonNode batch = client.next("batch");
        assertThat(batch.path("seq").asLong()).isZero();
        assertThat(text(batch)).isEqualTo("fresh");
    }

    @Test
    void theLastViewerLeavingStopsTheFeedOfTheRoom() throws Exception {
        KafkaRoomFeed feed = gateway.getBean(KafkaRoomFeed.class);
        String room = newRoom();
        createRoomTopic(room);
        WsClient client = connect("room=" + room);
        client.next("joined");
        await().atMost(WAIT).until(() -> feed.assignedRooms().contains(room));

        client.send("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
        client.next("left");
        await().atMost(WAIT).until(() -> !feed.assignedRooms().contains(room));
    }

    @Test
    void aClientThatAnswersPingsStaysConnectedPastTheHeartbeatTimeout() {
        WsClient client = connect("");
        client.next("welcome");
        await().during(Duration.ofMillis(2500)).atMost(WAIT).until(() -> !client.isClosed());
    }

    @Test
    void aClientThatNeverAnswersIsClosedWith4000() {
        // Reactor Netty's client with handlePing(true) leaves PINGs to the handler, which ignores them
        Integer code = reactor.netty.http.client.HttpClient.create()
                .websocket(WebsocketClientSpec.builder().handlePing(true).protocols("danmaku.v1.json").build())
                .uri(ws(""))
                .handle((in, out) -> Flux.merge(
                        in.receiveFrames().then(Mono.<Integer>empty()),
                        in.receiveCloseStatus().map(WebSocketCloseStatus::code)))
                .blockFirst(WAIT);
        assertThat(code).isEqualTo(CloseCode.HEARTBEAT_TIMEOUT.code());
    }

    @Test
    void theGiftCatalogueIsServed() throws Exception {
        HttpResponse<String> response = get("/api/gifts");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).contains("{\"id\":\"heart\",\"name\":\"Heart\",\"value\":1}")
                .contains("\"rocket\"").contains("\"carnival\"");
    }

    @Test
    void aGiftIsCheckedAgainstTheCatalogue() throws Exception {
        String room = newRoom();
        WsClient client = connect("token=" + devToken("Dan", "viewer", List.of()));
        client.send("{\"type\":\"gift\",\"room\":\"" + room + "\",\"id\":\"g-1\",\"gift\":\"yacht\"}");
        JsonNode error = client.next("error");
        assertThat(error.path("code").asString()).isEqualTo("unknown_gift");
        assertThat(error.path("id").asString()).isEqualTo("g-1");
        client.send("{\"type\":\"gift\",\"room\":\"" + room + "\",\"id\":\"g-2\",\"gift\":\"rose\",\"count\":3}");
        assertThat(client.next("ack").path("id").asString()).isEqualTo("g-2");
    }

    @Test
    void aModeratorMayMuteInTheirRoomOnly() throws Exception {
        String room = newRoom();
        WsClient moderator = connect("token=" + devToken("Mo", "moderator", List.of(room)));
        moderator.send("{\"type\":\"mute\",\"room\":\"" + newRoom() + "\",\"user\":\"u42\",\"seconds\":60}");
        assertThat(moderator.next("error").path("code").asString()).isEqualTo("forbidden");
        moderator.send("{\"type\":\"mute\",\"room\":\"" + room + "\",\"user\":\"u42\",\"seconds\":60}");
        moderator.send("{\"type\":\"ping\"}");
        moderator.next("pong");
        assertThat(moderator.seen()).filteredOn(f -> f.path("type").asString().equals("error")).hasSize(1);
    }

    @Test
    void onlyTheRoomsStreamerMaySetItsSlowMode() throws Exception {
        String room = newRoom();
        String slow = "{\"type\":\"slow_mode\",\"room\":\"" + room + "\",\"seconds\":10}";
        WsClient moderator = connect("token=" + devToken("Mo", "moderator", List.of(room)));
        moderator.send(slow);
        assertThat(moderator.next("error").path("code").asString()).isEqualTo("forbidden");
        WsClient otherStreamer = connect("token=" + devToken("Other", "streamer", List.of(newRoom())));
        otherStreamer.send(slow);
        assertThat(otherStreamer.next("error").path("code").asString()).isEqualTo("forbidden");

        WsClient streamer = connect("token=" + devToken("Sam", "streamer", List.of(room)));
        streamer.send(slow);
        streamer.send("{\"type\":\"slow_mode\",\"room\":\"" + room + "\",\"seconds\":7200}");
        assertThat(streamer.next("error").path("code").asString()).as("over an hour").isEqualTo("bad_request");
        streamer.send("{\"type\":\"ping\"}");
        streamer.next("pong");
        assertThat(streamer.seen()).filteredOn(f -> f.path("type").asString().equals("error")).hasSize(1);
    }

    @Test
    void theDevTokenEndpointValidatesItsInput() throws Exception {
        assertThat(post("/api/dev/tokens", "{\"name\":\"Eve\",\"role\":\"emperor\"}").statusCode()).isEqualTo(400);
        assertThat(post("/api/dev/tokens", "{\"role\":\"viewer\"}").statusCode()).isEqualTo(400);
        assertThat(post("/api/dev/tokens", "{\"name\":\"Eve\",\"rooms\":[\"no way\"]}").statusCode()).isEqualTo(400);
        HttpResponse<String> ok = post("/api/dev/tokens", "{\"name\":\"Eve Smith\"}");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).contains("\"token\"").containsPattern("\"id\":\"eve-smith-[a-z0-9]{6}\"");
    }

    /**
     * Keep-alive requests that arrive before the previous response is done are queued by Reactor
     * Netty and must all be answered: with reactor-netty 1.3.7 the connection stopped reading
     * once its queue drained (reactor-netty#4361), and a browser's or client's next request on
     * it hung for good (seen as a CI run stuck in this class).
     */
    @Test
    void pipelinedKeepAliveRequestsAreAllAnswered() throws Exception {
        // the first answered later (its work is off the event loop), the next ones at once
        String requests = String.join("", java.util.stream.Stream.of("/actuator/health", "/api/gifts", "/api/gifts")
                .map(path -> "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").toList());
        try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            java.io.InputStream in = socket.getInputStream();
            for (int round = 0; round < 5; round++) {
                socket.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                for (int i = 0; i < 3; i++) {
                    assertThat(readResponse(in)).as("response %d of round %d", i + 1, round + 1).startsWith("HTTP/1.1 200");
                }
            }
        }
    }

    /** One HTTP/1.1 response with a Content-Length (or a java.net.SocketTimeoutException). */
    private static String readResponse(java.io.InputStream in) throws java.io.IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new java.io.EOFException("closed after " + head);
            }
            head.append((char) b);
        }
        java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
        assertThat(length.find()).as("a Content-Length in %s", head).isTrue();
        in.readNBytes(Integer.parseInt(length.group(1)));
        return head.toString();
    }

    @Test
    void aRequestForTheWebSocketPathThatIsNoUpgradeIsABadRequest() throws Exception {
        HttpResponse<String> plain = get("/ws?room=r1");

        assertThat(plain.statusCode()).isEqualTo(400);
        assertThat(plain.body()).contains("WebSocket");
        // the token is looked at first: the browser client asks so why its handshake failed
        assertThat(get("/ws?room=r1&token=not-a-jwt").statusCode()).isEqualTo(401);
    }

    @Test
    void thePageAndHealthAreServed() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<title>danmaku</title>");
        HttpResponse<String> health = get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(200);
        assertThat(health.body()).contains("UP");
        assertThat(get("/actuator/prometheus").body()).contains("danmaku_gateway_connections");
    }
}
