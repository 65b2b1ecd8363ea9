package dev.danmaku.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.aggregator.TestKafka.IngressWriter;
import dev.danmaku.aggregator.TestKafka.RoomReader;
import dev.danmaku.aggregator.pipeline.KafkaClients;
import dev.danmaku.aggregator.pipeline.TransactionalKafkaClients;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.bus.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/** The aggregator against a real broker: batches, topics, exactly once across failures and a restart. */
class AggregatorKafkaTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private static Admin admin;

    @BeforeAll
    static void connect() {
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()));
    }

    @AfterAll
    static void disconnect() {
        admin.close(Duration.ofSeconds(2));
    }

    @Test
    void fiftyCommentsSentWithinOneWindowArriveInFewBatchesExactlyOnceAndInOrder() throws Exception {
        String room = TestKafka.unique("room");
        List<String> sent = IntStream.range(0, 50).mapToObj(i -> "c-%03d".formatted(i)).toList();

        try (ConfigurableApplicationContext aggregator = TestKafka.startAggregator(TestKafka.unique("group"), "n1");
             IngressWriter writer = new IngressWriter();
             RoomReader reader = new RoomReader(room)) {
            awaitTopic(Topics.INGRESS);
            sent.forEach(id -> writer.comment(room, id));
            writer.flush();

            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= sent.size());
            // and nothing more comes: no batch is published twice
            await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> reader.commentIds().size() == sent.size());

            assertThat(reader.commentIds()).containsExactlyElementsOf(sent);
            List<Batch> batches = reader.poll();
            assertThat(batches).hasSizeLessThan(5);
            assertThat(batches).allSatisfy(batch -> {
                assertThat(batch.room()).isEqualTo(room);
                assertThat(batch.comments()).isNotEmpty();
            });
            assertThat(batches).extracting(Batch::seq).doesNotHaveDuplicates().isSorted();
        }

        TopicDescription topic = admin.describeTopics(List.of(Topics.room(room))).allTopicNames()
                .get(10, TimeUnit.SECONDS).get(Topics.room(room));
        assertThat(topic.partitions()).hasSize(1);
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, Topics.room(room));
        Config config = admin.describeConfigs(List.of(resource)).all().get(10, TimeUnit.SECONDS).get(resource);
        assertThat(config.get("retention.ms").value()).isEqualTo("3600000");
        assertThat(config.get("cleanup.policy").value()).isEqualTo("delete");
    }

    @Test
    void anUndecodableRecordIsSkippedWithoutBlockingThePartition() {
        String room = TestKafka.unique("room");

        try (ConfigurableApplicationContext aggregator = TestKafka.startAggregator(TestKafka.unique("group"), "n2");
             IngressWriter writer = new IngressWriter();
             RoomReader reader = new RoomReader(room)) {
            awaitTopic(Topics.INGRESS);
            writer.comment(room, "before");
            writer.send(room, "{not json".getBytes(StandardCharsets.UTF_8));
            writer.send(room, "{\"type\":\"comment\"}".getBytes(StandardCharsets.UTF_8));
            writer.comment(room, "after");
            writer.flush();

            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= 2);
            assertThat(reader.commentIds()).containsExactly("before", "after");
        }
    }

    @Test
    void commentsArriveExactlyOnceAndInOrderWhileAggregatorsJoinAndLeaveMidStream() throws Exception {
        String room = TestKafka.unique("room");
        String group = TestKafka.unique("group");
        AtomicInteger produced = new AtomicInteger();
        ScheduledExecutorService pacer = Executors.newSingleThreadScheduledExecutor();

        try (IngressWriter writer = new IngressWriter(); RoomReader reader = new RoomReader(room)) {
            ConfigurableApplicationContext first = TestKafka.startAggregator(group, "first");
            ConfigurableApplicationContext second = null;
            try {
                awaitTopic(Topics.INGRESS);
                // one comment every 5 ms: a steady stream that the rebalances cut through
                pacer.scheduleAtFixedRate(() -> writer.comment(room, "c-%05d".formatted(produced.getAndIncrement())),
                        0, 5, TimeUnit.MILLISECONDS);
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= 50);

                // a second aggregator joins: the first hands half of the partitions over
                second = TestKafka.startAggregator(group, "second");
                await().atMost(TIMEOUT).until(() -> membersWithPartitions(group) == 2);
                int beforeLeave = reader.commentIds().size();
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= beforeLeave + 100);

                // the first leaves: the second takes everything over
                first.close();
                int afterLeave = reader.commentIds().size();
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= afterLeave + 100);

                pacer.shutdown();
                assertThat(pacer.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
                writer.flush();
                int total = produced.get();
                try {
                    await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= total);
                } catch (org.awaitility.core.ConditionTimeoutException e) { // say what is missing
                    List<String> seen = reader.commentIds();
                    throw new AssertionError(seen.size() + " of " + total + " comments; missing: "
                            + IntStream.range(0, total).mapToObj(i -> "c-%05d".formatted(i))
                            .filter(id -> !seen.contains(id)).limit(20).toList()
                            + "; seen twice: " + seen.stream().filter(id -> seen.indexOf(id) != seen.lastIndexOf(id))
                            .distinct().limit(20).toList(), e);
                }
                await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                        .until(() -> reader.commentIds().size() == total);

                List<String> expected = IntStream.range(0, total).mapToObj(i -> "c-%05d".formatted(i)).toList();
                assertThat(reader.commentIds()).containsExactlyElementsOf(expected);
            } finally {
                first.close();
                if (second != null) {
                    second.close();
                }
            }
        } finally {
            pacer.shutdownNow();
        }
    }

    @Test
    void aFailedTransactionIsAbortedAndItsCommentsArePublishedOnceByTheNextOne() {
        String room = TestKafka.unique("room");
        List<String> sent = IntStream.range(0, 20).mapToObj(i -> "c-%03d".formatted(i)).toList();

        try (ConfigurableApplicationContext aggregator = AggregatorApplication.builder()
                .sources(FailFirstCommitToRoom.class)
                .properties("danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                        "danmaku.aggregator.group-id=" + TestKafka.unique("group"),
                        "danmaku.node-id=n3",
                        "test.fail-topic=" + Topics.room(room))
                .properties(TestKafka.UNLIMITED)
                .run();
             IngressWriter writer = new IngressWriter();
             RoomReader reader = new RoomReader(room)) {
            awaitTopic(Topics.INGRESS);
            sent.forEach(id -> writer.comment(room, id));
            writer.flush();

            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() >= sent.size());
            await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                    .until(() -> reader.commentIds().size() == sent.size());

            assertThat(aggregator.getBean("injectedFailures", AtomicInteger.class)).hasValue(1);
            assertThat(reader.commentIds()).containsExactlyElementsOf(sent);
        }
    }

    /** How many members of the group own partitions now. */
    private static long membersWithPartitions(String group) throws Exception {
        ConsumerGroupDescription description = admin.describeConsumerGroups(List.of(group)).all()
                .get(5, TimeUnit.SECONDS).get(group);
        return description.members().stream().filter(m -> !m.assignment().topicPartitions().isEmpty()).count();
    }

    private static void awaitTopic(String topic) {
        await().atMost(TIMEOUT).until(() -> admin.listTopics().names().get(5, TimeUnit.SECONDS).contains(topic));
    }

    /**
     * Kafka clients whose producer fails the commit of the first transaction that sent a batch to
     * {@code test.fail-topic}, after the sends: the batch is in the log, then aborted.
     * Not a {@code @Configuration}, so that the aggregator's component scan leaves it out.
     */
    static class FailFirstCommitToRoom {

        @Bean
        AtomicInteger injectedFailures() {
            return new AtomicInteger();
        }

        @Bean
        @Primary
        KafkaClients failingClients(TransactionalKafkaClients real, AtomicInteger injectedFailures,
                                    @Value("${test.fail-topic}") String failTopic) {
            return new KafkaClients() {
                @Override
                public Consumer<String, byte[]> consumer() {
                    return real.consumer();
                }

                @Override
                public Producer<String, byte[]> producer() {
                    return new KafkaProducer<>(real.producerConfig()) {
                        private boolean sentToFailTopic;

                        @Override
                        public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                            sentToFailTopic |= record.topic().equals(failTopic);
                            return super.send(record, callback);
                        }

                        @Override
                        public void commitTransaction() {
                            boolean fail = sentToFailTopic && injectedFailures.compareAndSet(0, 1);
                            sentToFailTopic = false;
                            if (fail) {
                                throw new KafkaException("injected commit failure");
                            }
                            super.commitTransaction();
                        }
                    };
                }
            };
        }
    }
}
