package dev.danmaku.aggregator.pipeline;

import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code danmaku.state} from the beginning to its last stable offset with a
 * {@code read_committed} consumer of its own (assigned, no group), keeping the last value per
 * room; a tombstone (null value) forgets the room. Each call creates and closes its consumer:
 * it runs once per assignment, not per window.
 *
 * @param bootstrapServers the broker
 * @param clientId         the consumer's client id
 * @param codec            decodes the records
 * @param timeout          how long one load may take before it fails
 */
public record KafkaRoomStateSource(String bootstrapServers, String clientId, BusCodec codec, Duration timeout)
        implements RoomStateSource {

    private static final Logger log = LoggerFactory.getLogger(KafkaRoomStateSource.class);

    @Override
    public Collection<RoomState> load(Predicate<String> rooms) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // the services create their topics with the right configs; a consumer must not auto-create them
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, RoomState> states = new LinkedHashMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
            List<PartitionInfo> infos = consumer.partitionsFor(Topics.STATE, timeout);
            if (infos == null || infos.isEmpty()) {
                return List.of();
            }
            List<TopicPartition> partitions = infos.stream()
                    .map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            // read_committed: the end is the last stable offset (what committed transactions wrote)
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, timeout);
            int records = 0;
            while (!reached(consumer, end)) {
                if (System.nanoTime() - deadline > 0) {
                    throw new TimeoutException("reading " + Topics.STATE + " to its end took more than " + timeout);
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    records++;
                    String room = record.key();
                    if (room == null || !rooms.test(room)) {
                        continue;
                    }
                    if (record.value() == null) {
                        states.remove(room);
                        continue;
                    }
                    try {
                        states.put(room, codec.decodeState(record.value()));
                    } catch (RuntimeException e) {
                        log.atError().addKeyValue("room", room).log("Skipped an undecodable state of room {} at {}-{}@{}", room, record.topic(),
                                record.partition(), record.offset(), e);
                    }
                }
            }
            log.info("Restored the state of {} rooms from {} records of {}", states.size(), records, Topics.STATE);
        }
        return List.copyOf(states.values());
    }

    private static boolean reached(KafkaConsumer<String, byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> entry : end.entrySet()) {
            if (consumer.position(entry.getKey()) < entry.getValue()) {
                return false;
            }
        }
        return true;
    }
}
