package dev.danmaku.gateway.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The room-state reader against the shared real broker. */
class KafkaRoomStatesTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aStateTopicCreatedAfterTheGatewayStartedIsReadOnceItExists() throws Exception {
        LocalKafka kafka = LocalKafka.shared();
        String topic = "test.state." + UUID.randomUUID();
        BusCodec codec = new BusCodec();
        KafkaRoomStates states = new KafkaRoomStates(kafka.bootstrapServers(), topic, "states-test", codec, 100);
        states.start();
        try (Admin admin = Admin.create(Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                        kafka.bootstrapServers()));
             KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.<String, Object>of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class))) {
            // the reader looks for a topic that does not exist yet (as before the aggregator's
            // start) for a few of its waits before the topic appears
            await().pollDelay(Duration.ofSeconds(3)).atMost(TIMEOUT).until(states::isRunning);
            admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
            RoomState state = RoomState.empty("r1");
            producer.send(new ProducerRecord<>(topic, "r1", codec.encodeState(state))).get();

            await().atMost(TIMEOUT).untilAsserted(() -> assertThat(states.get("r1")).isEqualTo(state));
            assertThat(states.all()).containsExactly(state);
        } finally {
            states.stop();
        }
    }
}
