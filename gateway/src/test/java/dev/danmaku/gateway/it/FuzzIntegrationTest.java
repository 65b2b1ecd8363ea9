package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * 10,000 random and mutated frames (bad JSON, wrong types, huge numbers, invalid UTF-8, binary
 * garbage, oversize) from raw clients, one at a time: each is answered by a frame (an error, or
 * the answer a valid frame gets) or by a close with a code; the gateway keeps serving a viewer
 * watching meanwhile. Seeded: a failure names the seed and the frame.
 */
class FuzzIntegrationTest {

    private static final int FRAMES = 10_000;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Set<String> ANSWERS = Set.of("error", "joined", "left", "pong", "ack");
    private static final List<String> TEMPLATES = List.of(
            "{\"type\":\"join\",\"room\":\"fz1\",\"since\":12}",
            "{\"type\":\"leave\",\"room\":\"fz1\"}",
            "{\"type\":\"comment\",\"room\":\"fz1\",\"id\":\"c-1\",\"text\":\"233333\",\"color\":\"#ffffff\",\"mode\":\"scroll\"}",
            "{\"type\":\"like\",\"room\":\"fz1\",\"count\":3}",
            "{\"type\":\"gift\",\"room\":\"fz1\",\"id\":\"g-1\",\"gift\":\"rocket\",\"count\":1}",
            "{\"type\":\"ping\",\"ts\":1732230000000}",
            "{\"type\":\"mute\",\"room\":\"fz1\",\"user\":\"u42\",\"seconds\":600}");
    private static final List<String> NASTY = List.of("1e400", "-1", "99999999999999999999999", "3.5", "\"3\"", "null",
            "true", "[]", "{}", "\"\"", "\"x\"", "\"\\u0000\"", "\"" + "y".repeat(200) + "\"", "NaN", "-0", "0x10");

    @Test
    void everyRandomOrMutatedFrameIsAnsweredByAnErrorOrACloseAndOthersAreStillServed() throws Exception {
        int blockingMark = BlockingCalls.count();
        long seed = Long.getLong("fuzz.seed", System.nanoTime());
        Random random = new Random(seed);
        try (ConfigurableApplicationContext gateway = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                "danmaku.dev-mode=true",
                "danmaku.node-id=fuzz").run()) {
            int port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            HttpClient http = HttpClient.newHttpClient();
            WsClient watcher = WsClient.connect(URI.create("ws://127.0.0.1:" + port + "/ws?room=fz-watch"));
            watcher.next("joined");

            Map<String, Integer> outcomes = new HashMap<>();
            RawWsClient client = null;
            try {
                for (int i = 0; i < FRAMES; i++) {
                    if (client == null || client.ended()) {
                        if (client != null) {
                            client.close();
                        }
                        client = new RawWsClient(port, "");
                        client.startReading();
                        assertThat(client.awaitMoreThan(0, WAIT)).as("welcome").isTrue();
                    }
                    int opcode = random.nextInt(10) == 0 ? 0x2 : 0x1;
                    byte[] frame = frame(random);
                    int before = client.frames().size();
                    client.sendFrame(opcode, frame);
                    RawWsClient current = client;
                    String what = "frame " + i + " (seed " + seed + "): " + new String(frame, StandardCharsets.UTF_8);
                    if (current.awaitMoreThan(before, WAIT)) {
                        JsonNode answer = current.frames().get(before);
                        assertThat(answer.path("type").asString()).as(what).isIn(ANSWERS);
                        outcomes.merge(answer.path("type").asString() + " " + answer.path("code").asString(""), 1,
                                Integer::sum);
                    } else {
                        assertThat(current.closeCode()).as("closed with a code: " + what).isNotNull();
                        outcomes.merge("close " + current.closeCode(), 1, Integer::sum);
                    }
                }
            } finally {
                if (client != null) {
                    client.close();
                }
            }
            System.out.println("Fuzz outcomes (seed " + seed + "): " + outcomes);
            assertThat(outcomes.values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(FRAMES);
            assertThat(outcomes).containsKey("error bad_request");

            // the gateway still serves others
            watcher.send("{\"type\":\"ping\",\"ts\":1}");
            assertThat(watcher.next("pong").path("ts").asLong()).isEqualTo(1);
            assertThat(watcher.isClosed()).isFalse();
            watcher.close();
        }
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    private static byte[] frame(Random random) {
        int kind = random.nextInt(100);
        if (kind < 10) { // random bytes, often invalid UTF-8
            byte[] bytes = new byte[1 + random.nextInt(300)];
            random.nextBytes(bytes);
            return bytes;
        }
        if (kind < 12) { // oversize: closes 1009
            return ("{\"type\":\"comment\",\"text\":\"" + "x".repeat(4100 + random.nextInt(3000)) + "\"}")
                    .getBytes(StandardCharsets.UTF_8);
        }
        if (kind < 15) { // deep nesting
            int depth = 100 + random.nextInt(2000);
            return ("{\"type\":\"join\",\"room\":" + "[".repeat(depth) + "]".repeat(depth) + "}")
                    .getBytes(StandardCharsets.UTF_8);
        }
        String template = TEMPLATES.get(random.nextInt(TEMPLATES.size()));
        if (kind < 25) {
            return template.getBytes(StandardCharsets.UTF_8); // valid: answered as such
        }
        StringBuilder text = new StringBuilder(template);
        int mutations = 1 + random.nextInt(4);
        for (int m = 0; m < mutations && text.length() > 0; m++) {
            int at = random.nextInt(text.length());
            switch (random.nextInt(6)) {
                case 0 -> text.deleteCharAt(at);
                case 1 -> text.insert(at, (char) random.nextInt(0x3000));
                case 2 -> text.setCharAt(at, (char) (32 + random.nextInt(95)));
                case 3 -> { // a value replaced by a nasty one
                    int colon = text.indexOf(":", at);
                    if (colon > 0) {
                        int end = colon + 1;
                        while (end < text.length() && text.charAt(end) != ',' && text.charAt(end) != '}') {
                            end++;
                        }
                        text.replace(colon + 1, end, NASTY.get(random.nextInt(NASTY.size())));
                    }
                }
                case 4 -> text.setLength(at); // truncated
                default -> text.append(",\"extra\":").append(NASTY.get(random.nextInt(NASTY.size())));
            }
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        if (random.nextInt(20) == 0 && bytes.length > 0) {
            bytes[random.nextInt(bytes.length)] = (byte) (0x80 | random.nextInt(0x40)); // an invalid UTF-8 byte
        }
        return bytes;
    }
}
