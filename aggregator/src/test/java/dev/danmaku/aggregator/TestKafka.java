package dev.danmaku.aggregator;

import dev.danmaku.kafka.local.LocalKafka;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The real broker of this test JVM (started once, on a random port, on first use) and the
 * small clients the tests drive it with.
 */
final class TestKafka {

    static final BusCodec CODEC = new BusCodec();
    private static final User VIEWER = new User("u1", "Alice");

    private TestKafka() {
    }

    static String bootstrapServers() {
        return LocalKafka.shared().bootstrapServers();
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Waits until the aggregator created {@code danmaku.ingress} (a producer must not auto-create it first). */
    static void awaitIngressTopic() {
        try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()))) {
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> admin.listTopics().names()
                    .get(5, java.util.concurrent.TimeUnit.SECONDS).containsAll(List.of(Topics.INGRESS, Topics.STATE)));
        }
    }

    /**
     * Properties that let one test user send a fast stream of comments that all reach the room
     * (no per-user limit, no density cap to speak of): for the delivery tests. The room policy
     * itself is tested in RoomRulesTest.
     */
    static final String[] UNLIMITED = {"danmaku.aggregator.comment-burst=1000000",
            // no density cap to speak of, also for a backlog: after a slow hand-over on a loaded
            // machine one window took ~1,400 comments, and a cap of 500 dropped the rest (by policy)
            "danmaku.aggregator.density=100000", "danmaku.aggregator.max-comments-per-window=100000"};

    /** An aggregator context of its own consumer group against the test broker, without comment limits. */
    static ConfigurableApplicationContext startAggregator(String groupId, String nodeId) {
        return AggregatorApplication.builder().properties(
                "danmaku.kafka.bootstrap-servers=" + bootstrapServers(),
                "danmaku.aggregator.group-id=" + groupId,
                "danmaku.node-id=" + nodeId).properties(UNLIMITED).run();
    }

    /** The room's last committed state, read as a gateway or the next aggregator would. */
    static RoomState readState(String room) {
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            List<TopicPartition> partitions = consumer.partitionsFor(Topics.STATE).stream()
                    .map(p -> new TopicPartition(p.topic(), p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            RoomState[] last = new RoomState[1];
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInSameThread().until(() -> {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                    if (room.equals(record.key())) {
                        last[0] = CODEC.decodeState(record.value());
                    }
                }
                return end.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
            });
            return java.util.Objects.requireNonNull(last[0], "no state for " + room);
        }
    }

    /** A plain producer of ingress records, as a gateway would write them. */
    static final class IngressWriter implements AutoCloseable {

        private final KafkaProducer<String, byte[]> producer = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class));

        void comment(String room, String id) {
            send(room, CODEC.encodeIngress(new Ingress("gw-test", "conn-1", VIEWER, System.currentTimeMillis(),
                    new ClientFrame.Comment(room, id, "text " + id, null, null))));
        }

        void gift(String room, User user, String id, String gift, int count) {
            send(room, CODEC.encodeIngress(new Ingress("gw-test", "conn-1", user, System.currentTimeMillis(),
                    new ClientFrame.Gift(room, id, gift, count))));
        }

        void presence(String room, String node, int viewers) {
            producer.send(new ProducerRecord<>(Topics.PRESENCE, room,
                    CODEC.encodePresence(new dev.danmaku.protocol.bus.Presence(node, room, viewers,
                            System.currentTimeMillis()))));
        }

        void send(String room, byte[] value) {
            producer.send(new ProducerRecord<>(Topics.INGRESS, room, value));
        }

        void flush() {
            producer.flush();
        }

        @Override
        public void close() {
            producer.close(Duration.ofSeconds(5));
        }
    }

    /** Reads a room topic from its start, as a gateway would: read_committed, seq = offset. */
    static final class RoomReader implements AutoCloseable {

        private final KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class));
        private final List<Batch> batches = new ArrayList<>();

        RoomReader(String room) {
            TopicPartition partition = new TopicPartition(Topics.room(room), 0);
            consumer.assign(List.of(partition));
            consumer.seekToBeginning(List.of(partition));
        }

        /** Reads what arrived (waiting up to 100 ms) and returns every batch read so far. */
        List<Batch> poll() {
            for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(100))) {
                batches.add(CODEC.decodeBatch(record.value()).withSeq(record.offset()));
            }
            return batches;
        }

        /** The sum of the gift counts of every batch read so far. */
        long giftCount() {
            return poll().stream().filter(b -> b.gifts() != null).flatMap(b -> b.gifts().stream())
                    .mapToLong(g -> g.count()).sum();
        }

        /** The ids of every comment read so far, in order. */
        List<String> commentIds() {
            return poll().stream().flatMap(b -> b.comments().stream()).map(BatchComment::id).toList();
        }

        @Override
        public void close() {
            consumer.close(Duration.ofSeconds(2));
        }
    }
}
