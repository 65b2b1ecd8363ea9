package dev.danmaku.aggregator.presence;

import dev.danmaku.protocol.bus.Presence;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads every partition of {@code danmaku.presence} (no group: every aggregator sees every
 * room's counts and keeps those of its rooms), from the start of its short retention, with
 * zero-timeout polls from the loop thread. Until the topic exists it looks again every call,
 * cheaply (cached metadata).
 */
public final class KafkaPresenceSource implements PresenceSource {

    private static final Logger log = LoggerFactory.getLogger(KafkaPresenceSource.class);

    private final KafkaConsumer<String, byte[]> consumer;
    private final BusCodec codec;
    private boolean assigned;
    private long nextLookup;

    public KafkaPresenceSource(String bootstrapServers, String clientId, BusCodec codec) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // the services create their topics with the right configs; a consumer must not auto-create them
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        this.consumer = new KafkaConsumer<>(config);
        this.codec = codec;
    }

    @Override
    public List<Presence> poll() {
        try {
            if (!assigned && !assign()) {
                return List.of();
            }
            List<Presence> presences = new ArrayList<>();
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ZERO)) {
                try {
                    presences.add(codec.decodePresence(record.value()));
                } catch (RuntimeException e) {
                    log.debug("Skipped an undecodable presence record at offset {}", record.offset());
                }
            }
            return presences;
        } catch (KafkaException e) {
            log.debug("Reading {} failed: {}", Topics.PRESENCE, e.toString());
            return List.of();
        }
    }

    private boolean assign() {
        long now = System.nanoTime();
        if (now - nextLookup < 0) {
            return false;
        }
        nextLookup = now + Duration.ofSeconds(1).toNanos();
        List<PartitionInfo> infos = consumer.partitionsFor(Topics.PRESENCE, Duration.ofMillis(200));
        if (infos == null || infos.isEmpty()) {
            return false;
        }
        consumer.assign(infos.stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList());
        assigned = true;
        return true;
    }

    @Override
    public void close() {
        consumer.close(Duration.ofSeconds(1));
    }
}
