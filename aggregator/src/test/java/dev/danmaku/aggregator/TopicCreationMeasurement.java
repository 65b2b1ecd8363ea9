package dev.danmaku.aggregator;

import dev.danmaku.aggregator.topics.KafkaTopicAdmin;
import dev.danmaku.aggregator.topics.RoomTopics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: a measurement, run on demand against the test JVM's local broker:
 * {@code ./mvnw -o -q -pl aggregator -am test -Dtest=TopicCreationMeasurement -Ddanmaku.measure=2000
 * -Dsurefire.failIfNoSpecifiedTests=false}. Creates that many room topics one after another (as
 * rooms going live) and prints how long each creation took, per block of topics already existing,
 * against a baseline measured in the same run (one acknowledged write to an existing topic); then
 * deletes them all again (as idle rooms) and prints how long a deletion took.
 */
@EnabledIfSystemProperty(named = "danmaku.measure", matches = "\\d+")
class TopicCreationMeasurement {

    @Test
    void roomTopicCreationTime() throws Exception {
        int count = Integer.parseInt(System.getProperty("danmaku.measure"));
        Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()));
        try (KafkaTopicAdmin topics = new KafkaTopicAdmin(admin,
                new KafkaTopicAdmin.TopicSpecs(6, (short) 1, Duration.ofHours(1)), 10, "measure-topics")) {
            String prefix = TestKafka.unique("m");
            int block = Math.max(1, count / 5);
            double baseline = writeBaseline(topics, prefix + "-baseline");
            System.out.printf("MEASURE baseline (one acked write to an existing topic): p50 %6.1f ms%n", baseline);
            List<Long> times = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String room = prefix + "-" + i;
                long start = System.nanoTime();
                while (topics.ensure(room) == RoomTopics.State.PENDING) {
                    Thread.sleep(1);
                }
                times.add((System.nanoTime() - start) / 1_000);
                if (times.size() == block) {
                    Collections.sort(times);
                    double p50 = times.get(times.size() / 2) / 1000.0;
                    System.out.printf("MEASURE topics %5d..%5d: p50 %6.1f ms (%.1fx baseline), p99 %6.1f ms, max %6.1f ms%n",
                            i + 1 - block, i + 1, p50, p50 / baseline,
                            times.get((int) (times.size() * 0.99)) / 1000.0, times.get(times.size() - 1) / 1000.0);
                    times.clear();
                }
            }
            Runtime rt = Runtime.getRuntime();
            System.out.printf("MEASURE heap used after %d topics: %d MB%n", count,
                    (rt.totalMemory() - rt.freeMemory()) / (1024 * 1024));
            System.out.printf("MEASURE baseline again: p50 %6.1f ms%n", writeBaseline(topics, prefix + "-baseline"));
            List<Long> deletions = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                long start = System.nanoTime();
                topics.delete(prefix + "-" + i).toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
                deletions.add((System.nanoTime() - start) / 1_000);
            }
            Collections.sort(deletions);
            System.out.printf("MEASURE deletions of %d topics: p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms%n", count,
                    deletions.get(count / 2) / 1000.0, deletions.get((int) (count * 0.99)) / 1000.0,
                    deletions.get(count - 1) / 1000.0);
        }
    }

    /** The median of 50 acknowledged writes of one small record to one existing room topic, in ms. */
    private static double writeBaseline(KafkaTopicAdmin topics, String room) throws Exception {
        while (topics.ensure(room) == RoomTopics.State.PENDING) {
            Thread.sleep(1);
        }
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all",
                org.apache.kafka.clients.producer.ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.StringSerializer.class,
                org.apache.kafka.clients.producer.ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.ByteArraySerializer.class))) {
            List<Long> times = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                long start = System.nanoTime();
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(
                        dev.danmaku.protocol.bus.Topics.room(room), room, new byte[100])).get();
                times.add((System.nanoTime() - start) / 1_000);
            }
            Collections.sort(times);
            return times.get(times.size() / 2) / 1000.0;
        }
    }
}
