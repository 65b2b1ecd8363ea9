package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
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
import tools.jackson.databind.json.JsonMapper;

/**
 * Viewers that stop reading, against a real broker and real sockets: a small outbound queue
 * (64) and a short lag limit (4 s), so that they lag soon. Batches are written to the room topic
 * by the test (no aggregator here), each a few KiB so that socket buffers fill quickly.
 */
class SlowViewerIntegrationTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final BusCodec BUS = new BusCodec();
    private static final int MAX_BATCHES = 20_000;
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final int FAST_VIEWERS = 4;
    private static final int STALLED_VIEWERS = 40;
    /** Batches published in the baseline, and at least as many with the stalled viewers. */
    private static final int ROUND = 300;
    /** Frames Reactor Netty writes to a channel ahead of the socket (its send prefetch). */
    private static final int NETTY_IN_FLIGHT = 128;
    /** Netty's default write buffer high water mark. */
    private static final int HIGH_WATER_MARK = 64 * 1024;

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
        List<WsClient> fast = List.of(WsClient.connect(uri), WsClient.connect(uri));
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

    @Test
    void aStalledViewersBacklogWaitsInItsQueueWhereTheLagPolicySeesItNotInTheKernel() throws Exception {
        GatewayWebSocketHandler handler = gateway.getBean(GatewayWebSocketHandler.class);
        OutboundStats stats = handler.outboundStats();
        int openBefore = handler.openConnections();
        String room = "stall-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        try (RawWsClient stalled = new RawWsClient(port, "room=" + room)) {
            await().atMost(WAIT).until(() -> handler.openConnections() == openBefore + 1);
            long lagStarts = stats.lagStarts();
            List<Long> published = publishUntil(room, () -> stats.lagStarts() > lagStarts);

            // what the gateway's socket holds unsent: bounded by the 32 KiB SO_SNDBUF (the kernel
            // reserves twice that, and a write may pass it by one segment), where autotuning had let
            // it grow to megabytes on loopback, out of the lag policy's sight
            long unsent = unsentBytes(port, stalled.localPort());
            assertThat(unsent).as("bytes in the gateway's send queue for the stalled viewer, after %d batches of %d bytes",
                    published.size(), BUS.encodeBatch(commentBatch(room, 0)).length).isBetween(1L, 160L * 1024);
        }
        await().atMost(WAIT).until(() -> handler.openConnections() == openBefore);
    }

    /**
     * The unsent bytes ({@code tx_queue}) of the server's socket from {@code serverPort} to
     * {@code clientPort}, as Linux lists it in {@code /proc/net/tcp6} (or {@code tcp}).
     */
    private static long unsentBytes(int serverPort, int clientPort) throws Exception {
        for (String file : List.of("/proc/net/tcp6", "/proc/net/tcp")) {
            for (String line : Files.readAllLines(Path.of(file))) {
                // sl local_address rem_address st tx_queue:rx_queue ...
                String[] fields = line.trim().split("\\s+");
                if (fields.length > 4 && fields[1].endsWith(":" + hexPort(serverPort))
                        && fields[2].endsWith(":" + hexPort(clientPort)) && fields[3].equals("01")) {
                    return Long.parseLong(fields[4].substring(0, fields[4].indexOf(':')), 16);
                }
            }
        }
        throw new AssertionError("no established socket from :" + serverPort + " to :" + clientPort);
    }

    private static String hexPort(int port) {
        return String.format("%04X", port);
    }

    /** A fast viewer on the JDK's client that notes, for each batch, when it arrived after its {@code ts}. */
    private static final class TimedViewer implements WebSocket.Listener {
        final Map<Long, Long> latencyBySeq = new ConcurrentHashMap<>();
        final List<Long> seqs = new CopyOnWriteArrayList<>();
        final CompletableFuture<Long> joined = new CompletableFuture<>();
        private final StringBuilder text = new StringBuilder();
        final WebSocket socket;

        TimedViewer(URI uri) {
            socket = HttpClient.newHttpClient().newWebSocketBuilder().subprotocols("danmaku.v1.json").buildAsync(uri, this)
                    .orTimeout(30, TimeUnit.SECONDS).join();
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                long now = System.currentTimeMillis();
                JsonNode frame = JSON.readTree(text.toString());
                text.setLength(0);
                switch (frame.path("type").asString()) {
                    case "joined" -> joined.complete(frame.path("seq").asLong());
                    case "batch" -> {
                        long seq = frame.path("seq").asLong();
                        latencyBySeq.put(seq, now - frame.path("ts").asLong());
                        seqs.add(seq);
                    }
                    default -> { }
                }
            }
            webSocket.request(1);
            return null;
        }
    }

    private static long percentile(List<Long> values, double p) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(p * sorted.size())));
    }

    private static List<Long> latencies(List<TimedViewer> viewers, List<Long> seqs) {
        List<Long> all = new ArrayList<>();
        for (TimedViewer viewer : viewers) {
            seqs.forEach(seq -> all.add(viewer.latencyBySeq.get(seq)));
        }
        return all;
    }

    @Test
    void manyViewersThatStopReadingNeitherDelayTheOthersNorGrowTheBacklogAndAreClosedWith1013() throws Exception {
        GatewayWebSocketHandler handler = gateway.getBean(GatewayWebSocketHandler.class);
        OutboundStats stats = handler.outboundStats();
        RoomRegistry rooms = gateway.getBean(RoomRegistry.class);
        String room = "stall-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        HttpClient http = HttpClient.newHttpClient();
        URI uri = URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room);
        List<TimedViewer> fast = new ArrayList<>();
        for (int i = 0; i < FAST_VIEWERS; i++) {
            fast.add(new TimedViewer(uri));
        }
        fast.forEach(viewer -> viewer.joined.orTimeout(30, TimeUnit.SECONDS).join());
        int connectionsBefore = handler.openConnections();

        // the baseline: the same traffic with no slow viewer
        List<Long> baseline = new ArrayList<>();
        for (int n = 0; n < ROUND; n++) {
            baseline.add(publish(commentBatch(room, n)));
        }
        long lastBaseline = baseline.get(baseline.size() - 1);
        await().atMost(WAIT).until(() -> fast.stream().allMatch(v -> v.latencyBySeq.containsKey(lastBaseline)));

        // viewers that never read join the room; traffic goes on until all are closed for lagging
        List<RawWsClient> stalled = new ArrayList<>();
        long lagStarts = stats.lagStarts();
        long slowCloses = stats.slowCloses();
        long skipped = stats.skippedBatches();
        try {
            for (int i = 0; i < STALLED_VIEWERS; i++) {
                stalled.add(new RawWsClient(port, "room=" + room));
            }
            await().atMost(WAIT).until(() -> rooms.viewerCount(room) == FAST_VIEWERS + STALLED_VIEWERS);
            // the bound per connection: the frames Netty takes ahead of the socket, a buffer's worth more
            int batchBytes = new JsonFrameCodec(Limits.DEFAULTS).encode(commentBatch(room, 0)).length;
            long pendingBytesPerConnection = (long) NETTY_IN_FLIGHT * batchBytes + HIGH_WATER_MARK + batchBytes;
            List<Long> loaded = new ArrayList<>();
            long maxFrames = 0;
            long maxBytes = 0;
            while (loaded.size() < ROUND || stats.slowCloses() < slowCloses + STALLED_VIEWERS
                    || (long) loaded.size() * batchBytes < 4 * pendingBytesPerConnection) {
                assertThat(loaded.size()).as("batches published before every stalled viewer was closed")
                        .isLessThan(MAX_BATCHES);
                loaded.add(publish(commentBatch(room, ROUND + loaded.size())));
                GatewayWebSocketHandler.Backlog backlog = handler.outboundBacklog();
                maxFrames = Math.max(maxFrames, backlog.queuedFrames());
                maxBytes = Math.max(maxBytes, backlog.pendingBytes());
            }
            long last = loaded.get(loaded.size() - 1);
            await().atMost(WAIT).until(() -> fast.stream().allMatch(v -> v.latencyBySeq.containsKey(last)));

            // the fast viewers got every batch, in order
            List<Long> published = new ArrayList<>(baseline);
            published.addAll(loaded);
            for (TimedViewer viewer : fast) {
                assertThat(viewer.seqs).isEqualTo(published);
            }
            // ... about as soon as without the stalled ones (generous: the machine is shared)
            long p50Before = percentile(latencies(fast, baseline), 0.5);
            long p90Before = percentile(latencies(fast, baseline), 0.9);
            long p50After = percentile(latencies(fast, loaded), 0.5);
            long p90After = percentile(latencies(fast, loaded), 0.9);
            System.out.printf("latency of %d fast viewers, ms: p50 %d -> %d, p90 %d -> %d with %d stalled viewers; "
                            + "outbound backlog at most %d frames, %d bytes; %d batches of ~%d bytes published%n",
                    FAST_VIEWERS, p50Before, p50After, p90Before, p90After, STALLED_VIEWERS, maxFrames, maxBytes,
                    loaded.size(), batchBytes);
            assertThat(p50After).as("median latency with stalled viewers (baseline %d ms)", p50Before)
                    .isLessThanOrEqualTo(10 * p50Before + 1000);
            assertThat(p90After).as("p90 latency with stalled viewers (baseline %d ms)", p90Before)
                    .isLessThanOrEqualTo(10 * p90Before + 2000);

            // what the node held for the stalled viewers stayed bounded per connection, though each was
            // sent far more than that bound
            int perConnectionFrames = 64 + 64; // queue-capacity, and the headroom for essential frames
            assertThat(maxFrames).isLessThanOrEqualTo((long) (STALLED_VIEWERS + FAST_VIEWERS) * perConnectionFrames);
            assertThat(maxBytes).isLessThanOrEqualTo((long) (STALLED_VIEWERS + FAST_VIEWERS) * pendingBytesPerConnection);

            // each stalled viewer lagged (degraded: comment batches skipped), then was closed
            assertThat(stats.lagStarts() - lagStarts).isGreaterThanOrEqualTo(STALLED_VIEWERS);
            assertThat(stats.skippedBatches() - skipped).isGreaterThanOrEqualTo(STALLED_VIEWERS);
            assertThat(stats.slowCloses() - slowCloses).isEqualTo(STALLED_VIEWERS);
            await().atMost(WAIT).until(() -> handler.openConnections() == connectionsBefore);
            for (RawWsClient client : stalled) {
                client.startReading();
            }
            for (RawWsClient client : stalled) {
                await().atMost(WAIT).until(client::ended);
                assertThat(client.closeCode()).as("a close frame, if one got through, says 1013").isIn(null, 1013);
            }
        } finally {
            stalled.forEach(RawWsClient::close);
            fast.forEach(viewer -> viewer.socket.abort());
        }
    }
}
