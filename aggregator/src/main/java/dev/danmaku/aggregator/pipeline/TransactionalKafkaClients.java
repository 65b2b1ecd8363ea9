package dev.danmaku.aggregator.pipeline;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The real clients. The producer's {@code transactional.id} is {@code danmaku-aggregator-<node id>}:
 * unique per running instance. Zombie instances are fenced by the consumer group's generation
 * (the offsets go into the transaction with {@code consumer.groupMetadata()}), so the id need
 * not follow the partitions.
 *
 * @param bootstrapServers   the broker
 * @param groupId            the consumer group on {@code danmaku.ingress}
 * @param nodeId             this instance's node id
 * @param transactionTimeout the producer's {@code transaction.timeout.ms}
 * @param metadataIdle       the producer's {@code metadata.max.idle.ms}: a room topic not written to
 *                           for this long leaves the producer's metadata (shorter than the room idle
 *                           time, so that a deleted room topic is not asked about, and warned about, again)
 */
public record TransactionalKafkaClients(String bootstrapServers, String groupId, String nodeId,
                                        Duration transactionTimeout, Duration metadataIdle) implements KafkaClients {

    /** With Kafka's default {@code metadata.max.idle.ms} (5 minutes). */
    public TransactionalKafkaClients(String bootstrapServers, String groupId, String nodeId, Duration transactionTimeout) {
        this(bootstrapServers, groupId, nodeId, transactionTimeout, Duration.ofMinutes(5));
    }

    /** {@code metadata.max.idle.ms} for a room idle time: half of it, between 5 s (Kafka's least) and 5 minutes. */
    public static Duration metadataIdleFor(Duration roomIdle) {
        long half = roomIdle.toMillis() / 2;
        return Duration.ofMillis(Math.max(5_000, Math.min(half, 300_000)));
    }

    /**
     * How long a producer call (send waiting for metadata, initTransactions, commitTransaction)
     * may block the loop: short, so that the loop stops within a few seconds.
     */
    static final Duration MAX_BLOCK = Duration.ofSeconds(5);

    /** The transactional id this instance's producers use. */
    public String transactionalId() {
        return "danmaku-aggregator-" + nodeId;
    }

    @Override
    public KafkaConsumer<String, byte[]> consumer() {
        return new KafkaConsumer<>(consumerConfig());
    }

    @Override
    public KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(producerConfig());
    }

    /** The consumer's configuration. */
    public Map<String, Object> consumerConfig() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, transactionalId() + "-consumer");
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // A new group starts at the oldest retained ingress: nothing accepted is skipped.
        // The rewind after an aborted transaction relies on this for partitions without a commit.
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // Incremental rebalances: a joining aggregator does not stop the others' rooms.
        config.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        // A crashed aggregator's rooms move after 10 s instead of 45 s; a rebalance is noticed within 1 s.
        config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return config;
    }

    /** The producer's configuration. */
    public Map<String, Object> producerConfig() {
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, transactionalId() + "-producer");
        config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId());
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) transactionTimeout.toMillis());
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, MAX_BLOCK.toMillis());
        // The whole window goes out at commit anyway: no reason to wait for fuller batches.
        config.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        config.put(ProducerConfig.METADATA_MAX_IDLE_CONFIG, (int) metadataIdle.toMillis());
        config.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }
}
