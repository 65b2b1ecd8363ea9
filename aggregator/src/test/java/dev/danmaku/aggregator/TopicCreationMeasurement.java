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
 * rooms going live) and prints how long each creation took, per block of topics already existing.
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
                    System.out.printf("MEASURE topics %5d..%5d: p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms%n",
                            i + 1 - block, i + 1, times.get(times.size() / 2) / 1000.0,
                            times.get((int) (times.size() * 0.99)) / 1000.0, times.get(times.size() - 1) / 1000.0);
                    times.clear();
                }
            }
            Runtime rt = Runtime.getRuntime();
            System.out.printf("MEASURE heap used after %d topics: %d MB%n", count,
                    (rt.totalMemory() - rt.freeMemory()) / (1024 * 1024));
        }
    }
}
