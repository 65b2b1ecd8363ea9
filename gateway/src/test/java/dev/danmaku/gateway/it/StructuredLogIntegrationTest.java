package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import dev.danmaku.kafka.local.LocalKafka;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.logging.LoggingSystem;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The gateway's log lines about a connection carry its id and room as fields when the
 * structured console format is on ({@code logging.structured.format.console=ecs}, as the
 * Kubernetes manifests set it), read from the real console output of a real connection.
 */
@ExtendWith(OutputCaptureExtension.class)
class StructuredLogIntegrationTest {

    private static final String SESSION_LOGGER = "dev.danmaku.gateway.session";

    @Test
    void connectionLinesCarryTheConnectionAndItsRoomAsFields(CapturedOutput output) {
        int blockingMark = BlockingCalls.count();
        ConfigurableApplicationContext gateway = GatewayApplication.builder()
                .properties(
                        "server.port=0",
                        "danmaku.kafka.bootstrap-servers=" + LocalKafka.shared().bootstrapServers(),
                        "danmaku.dev-mode=true",
                        "danmaku.node-id=logs",
                        "logging.structured.format.console=ecs",
                        "logging.level." + SESSION_LOGGER + "=debug")
                .run();
        try {
            int port = gateway.getEnvironment().getRequiredProperty("local.server.port", Integer.class);
            String room = "logs-" + UUID.randomUUID().toString().substring(0, 8);
            WsClient client = WsClient.connect(
                    URI.create("ws://127.0.0.1:" + port + "/ws?room=" + room));
            String connection = client.next("welcome").path("conn").asString();
            client.next("joined");
            client.send("{\"type\":\"leave\",\"room\":\"" + room + "\"}");
            client.next("left");
            client.close();

            await().atMost(WsClient.WAIT).untilAsserted(() -> {
                List<JsonNode> lines = linesOf(output.getOut(), connection);
                assertThat(lines).extracting(line -> line.path("message").asString())
                        .anySatisfy(message -> assertThat(message).contains("opened"))
                        .anySatisfy(message -> assertThat(message).contains("joins " + room))
                        .anySatisfy(message -> assertThat(message).contains("leaves " + room))
                        .anySatisfy(message -> assertThat(message).contains("closing with 1000"));
                assertThat(lines).filteredOn(line -> line.path("message").asString().contains(room))
                        .allSatisfy(line -> assertThat(line.path("room").asString()).isEqualTo(room));
                assertThat(lines).allSatisfy(line ->
                        assertThat(line.path("log").path("logger").asString()).isEqualTo(SESSION_LOGGER + ".Connection"));
            });
        } finally {
            gateway.close();
            LoggingSystem.get(getClass().getClassLoader()).setLogLevel(SESSION_LOGGER, null);
        }
        assertThat(BlockingCalls.since(blockingMark)).as("blocking calls on non-blocking threads").isEmpty();
    }

    /** The console's JSON lines whose {@code connection} field is this connection. */
    private static List<JsonNode> linesOf(String out, String connection) {
        JsonMapper json = JsonMapper.builder().build();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("{")) {
                JsonNode node = json.readTree(line);
                if (connection.equals(node.path("connection").asString(null))) {
                    lines.add(node);
                }
            }
        }
        return lines;
    }
}
