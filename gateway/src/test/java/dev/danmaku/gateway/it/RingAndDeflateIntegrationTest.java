package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.Inflater;
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
 * A gateway with a small resume ring (5 batches): a {@code since} the ring no longer holds is
 * {@code recovered: false}; and permessage-deflate, negotiated when the client offers it, always
 * without server context takeover.
 */
class RingAndDeflateIntegrationTest {

    private static final BusCodec BUS = new BusCodec();
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static ConfigurableApplicationContext gateway;
    private static int port;
    private static Admin admin;
    private static KafkaProducer<byte[], byte[]> producer;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        LocalKafka kafka = LocalKafka.shared();
        gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + kafka.bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=ring",
                "danmaku.feed.ring-max-batches=5").run();
        port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
        producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));
    }

    @AfterAll
    static void stop() {
        producer.close();
        admin.close();
        gateway.close();
    }

    private static long publishBatch(String room, String text) throws Exception {
        long ts = System.currentTimeMillis();
        ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, ts, List.of(new ServerFrame.BatchComment(
                "c-" + UUID.randomUUID().toString().substring(0, 8), new User("u9", "Bo"), text, "#ffffff",
                Mode.SCROLL, ts)), 0);
        return producer.send(new ProducerRecord<>(Topics.room(room), room.getBytes(StandardCharsets.UTF_8),
                BUS.encodeBatch(batch))).get(30, TimeUnit.SECONDS).offset();
    }

    private static URI ws(String query) {
        return URI.create("ws://127.0.0.1:" + port + "/ws?" + query);
    }

    @Test
    void aSinceOlderThanTheRingIsNotRecoveredAndContinuesLiveWhileOneInsideIs() throws Exception {
        String room = "ring-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        try (WsClient watcher = WsClient.connect(ws("room=" + room))) { // keeps the room followed
            watcher.next("joined");
            List<Long> seqs = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                seqs.add(publishBatch(room, "b" + i));
            }
            long last = seqs.get(seqs.size() - 1);
            watcher.next(f -> f.path("seq").asLong() == last, "the last batch");

            try (WsClient tooOld = WsClient.connect(ws("room=" + room + "&since=" + seqs.get(1)))) {
                JsonNode joined = tooOld.next("joined");
                assertThat(joined.path("recovered").asBoolean()).isFalse();
                assertThat(joined.path("seq").asLong()).isEqualTo(last);
                long live = publishBatch(room, "live");
                JsonNode next = tooOld.next("batch");
                assertThat(next.path("seq").asLong()).as("nothing replayed: live from joined.seq").isEqualTo(live);
            }
            long newest = publishBatch(room, "newest");
            try (WsClient inside = WsClient.connect(ws("room=" + room + "&since=" + last))) {
                JsonNode joined = inside.next("joined");
                assertThat(joined.path("recovered").asBoolean()).isTrue();
                assertThat(inside.next("batch").path("seq").asLong()).isEqualTo(last + 1);
                assertThat(inside.next("batch").path("seq").asLong()).isEqualTo(newest);
            }
        }
    }

    /**
     * A browser's offer is accepted without server context takeover: every message inflates on
     * its own (a fresh inflater for each, which fails on a back-reference into an earlier
     * message), and a batch is the same compressed bytes for every viewer.
     */
    @Test
    void permessageDeflateIsNegotiatedWithoutServerContextTakeoverAndABatchIsCompressedOnceForAll() throws Exception {
        String room = "deflate-" + UUID.randomUUID().toString().substring(0, 8);
        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        try (DeflateSocket browser = new DeflateSocket(port, "room=" + room, "permessage-deflate; client_max_window_bits");
             DeflateSocket other = new DeflateSocket(port, "room=" + room, "x-webkit-deflate-frame, permessage-deflate")) {
            for (DeflateSocket socket : List.of(browser, other)) {
                String extensions = socket.head.toLowerCase(Locale.ROOT);
                assertThat(extensions).contains("sec-websocket-extensions: permessage-deflate")
                        .contains("server_no_context_takeover").doesNotContain("deflate-frame");
                assertThat(socket.nextJson(true).path("type").asString()).isEqualTo("welcome");
                assertThat(socket.nextJson(true).path("type").asString()).isEqualTo("joined");
            }
            String text = "the same words again and again, the same words again and again";
            long first = publishBatch(room, text);
            long second = publishBatch(room, text);
            List<byte[]> payloads = new ArrayList<>();
            for (DeflateSocket socket : List.of(browser, other)) {
                for (long seq : List.of(first, second)) {
                    byte[] payload = socket.nextPayload(true);
                    JsonNode batch = JSON.readTree(inflate(payload));
                    assertThat(batch.path("type").asString()).isEqualTo("batch");
                    assertThat(batch.path("seq").asLong()).isEqualTo(seq);
                    assertThat(batch.path("comments").path(0).path("text").asString()).isEqualTo(text);
                    payloads.add(payload);
                }
            }
            assertThat(payloads.get(2)).as("the first batch, the same bytes for both viewers").isEqualTo(payloads.get(0));
            assertThat(payloads.get(3)).as("the second batch, too").isEqualTo(payloads.get(1));
        }
    }

    /** The gateway compresses with the full window: an offer of a smaller one is declined, and nothing is compressed. */
    @Test
    void anOfferOfASmallerServerWindowIsDeclinedAndFramesArriveUncompressed() throws Exception {
        try (DeflateSocket socket = new DeflateSocket(port, "", "permessage-deflate; server_max_window_bits=10")) {
            assertThat(socket.head.toLowerCase(Locale.ROOT)).doesNotContain("sec-websocket-extensions");
            JsonNode welcome = JSON.readTree(new String(socket.nextPayload(false), StandardCharsets.UTF_8));
            assertThat(welcome.path("type").asString()).isEqualTo("welcome");
        }
    }

    /** A client over a plain socket that offers extensions and reads whole server frames. */
    private static final class DeflateSocket implements AutoCloseable {

        private final Socket socket = new Socket();
        private final DataInputStream in;
        private final String head;

        DeflateSocket(int port, String query, String extensions) throws Exception {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 10_000);
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
            byte[] nonce = new byte[16];
            new java.security.SecureRandom().nextBytes(nonce);
            out.write(("GET /ws" + (query.isEmpty() ? "" : "?" + query) + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: " + Base64.getEncoder().encodeToString(nonce) + "\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: danmaku.v1.json\r\n"
                    + "Sec-WebSocket-Extensions: " + extensions + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            head = readHead(in);
            assertThat(head).startsWith("HTTP/1.1 101");
        }

        /** The next data frame's payload (a text frame, whole), compressed (RSV1) or not as expected. */
        byte[] nextPayload(boolean compressed) throws Exception {
            while (true) {
                int b0 = in.readUnsignedByte();
                int b1 = in.readUnsignedByte();
                long length = b1 & 0x7f;
                if (length == 126) {
                    length = in.readUnsignedShort();
                } else if (length == 127) {
                    length = in.readLong();
                }
                byte[] payload = new byte[Math.toIntExact(length)];
                in.readFully(payload);
                int opcode = b0 & 0x0f;
                if (opcode == 0x9 || opcode == 0xA) {
                    continue; // ping, pong
                }
                assertThat(opcode).as("a text frame").isEqualTo(0x1);
                assertThat(b0 & 0x80).as("FIN").isNotZero();
                assertThat((b0 & 0x40) != 0).as("RSV1: compressed with permessage-deflate").isEqualTo(compressed);
                return payload;
            }
        }

        JsonNode nextJson(boolean compressed) throws Exception {
            return JSON.readTree(inflate(nextPayload(compressed)));
        }

        @Override
        public void close() throws Exception {
            socket.close();
        }
    }

    private static String readHead(InputStream in) throws Exception {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            assertThat(b).as("the handshake's answer").isNotNegative();
            head.write(b);
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    /** RFC 7692: the message's bytes with 00 00 ff ff appended, raw DEFLATE. */
    private static String inflate(byte[] payload) throws Exception {
        Inflater inflater = new Inflater(true);
        ByteArrayOutputStream tail = new ByteArrayOutputStream();
        tail.writeBytes(payload);
        tail.writeBytes(new byte[] {0, 0, (byte) 0xff, (byte) 0xff});
        inflater.setInput(tail.toByteArray());
        ByteArrayOutputStream inflated = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        while (!inflater.needsInput() && !inflater.finished()) {
            int n = inflater.inflate(buffer);
            if (n == 0 && inflater.needsInput()) {
                break;
            }
            inflated.write(buffer, 0, n);
        }
        inflater.end();
        return inflated.toString(StandardCharsets.UTF_8);
    }
}
