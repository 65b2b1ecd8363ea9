package dev.danmaku.aggregator.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.aggregator.batch.RoomPolicy;
import dev.danmaku.aggregator.batch.RoomWindows;
import dev.danmaku.aggregator.metrics.AggregatorMetrics;
import dev.danmaku.aggregator.presence.PresenceSource;
import dev.danmaku.aggregator.topics.IngressTopic;
import dev.danmaku.aggregator.topics.RoomTopics;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The loop against Kafka's mock clients: what goes into each transaction, without a broker. */
class AggregationLoopTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final TopicPartition INGRESS_0 = new TopicPartition(Topics.INGRESS, 0);
    private static final TopicPartition INGRESS_1 = new TopicPartition(Topics.INGRESS, 1);
    private static final BusCodec CODEC = new BusCodec();
    private static final User ALICE = new User("u1", "Alice");
    private static final long NOW = 1_732_230_000_000L;

    private final SlowMockConsumer consumer = new SlowMockConsumer();
    private final FailingMockProducer producer = new FailingMockProducer();
    private final FakeTopics topics = new FakeTopics();
    private final CircuitBreaker breaker = CircuitBreaker.ofDefaults("publish");
    private final AggregationLoop loop = new AggregationLoop(new KafkaClients() {
        @Override
        public Consumer<String, byte[]> consumer() {
            return consumer;
        }

        @Override
        public Producer<String, byte[]> producer() {
            return producer;
        }
    }, topics, topics, new RoomWindows(RoomPolicy.defaults().withCommentRate(1000, java.time.Duration.ofMillis(1), java.util.Map.of())), RoomStateSource.NONE,
            () -> PresenceSource.NONE, Duration.ofSeconds(5), CODEC, Clock.fixed(Instant.ofEpochMilli(NOW), ZoneOffset.UTC),
            Duration.ofMillis(50), Duration.ofHours(24), AggregatorMetrics.standalone(), breaker);
    private final Thread thread = new Thread(loop::run, "test-loop");
    private final Map<Integer, Long> nextOffsets = new HashMap<>();

    @BeforeEach
    void start() {
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of(INGRESS_0, INGRESS_1));
            consumer.updateBeginningOffsets(Map.of(INGRESS_0, 0L, INGRESS_1, 0L));
        });
        thread.start();
        await().atMost(TIMEOUT).until(() -> !consumer.assignment().isEmpty());
    }

    @AfterEach
    void stop() throws InterruptedException {
        loop.stop();
        thread.join(TIMEOUT.toMillis());
        assertThat(thread.isAlive()).isFalse();
    }

    @Test
    void oneTransactionCarriesEveryRoomsBatchAndTheConsumedOffsets() {
        comment("r1", "c1");
        comment("r2", "c2");
        comment("r1", "c3");

        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);

        assertThat(producer.commitCount()).isEqualTo(1);
        assertThat(batches()).extracting(Batch::room).containsExactly("r1", "r2");
        assertThat(roomRecords()).extracting(ProducerRecord::topic)
                .containsExactly("danmaku.room.r1", "danmaku.room.r2");
        assertThat(producer.history()).filteredOn(record -> record.topic().equals(Topics.STATE))
                .as("each room's new state, in the same transaction")
                .extracting(record -> CODEC.decodeState(record.value()).commentIds().keySet())
                .containsExactlyInAnyOrder(java.util.Set.of("c1", "c3"), java.util.Set.of("c2"));
        assertThat(batches().get(0)).satisfies(batch -> {
            assertThat(batch.seq()).isEqualTo(-1);
            assertThat(batch.ts()).isEqualTo(NOW);
            assertThat(batch.comments()).extracting(BatchComment::id).containsExactly("c1", "c3");
        });
        assertThat(committedOffsets()).containsEntry(INGRESS_0, new OffsetAndMetadata(3));
    }

    @Test
    void aFailedCommitIsAbortedAndItsRecordsAreConsumedAgain() {
        producer.failNextCommit.set(true);
        // one poll hands out both records, so the failing transaction holds both
        consumer.addAtomically(commentRecord("r1", "c1"), commentRecord("r1", "c2"));

        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);

        assertThat(producer.aborts()).isEqualTo(1);
        assertThat(consumer.seeks()).containsExactly(Map.entry(INGRESS_0, 0L));
        assertThat(batches()).as("the replayed records, once; nothing of the aborted transaction")
                .singleElement().satisfies(batch ->
                        assertThat(batch.comments()).extracting(BatchComment::id).containsExactly("c1", "c2"));
        assertThat(committedOffsets()).containsEntry(INGRESS_0, new OffsetAndMetadata(2));
    }

    @Test
    void windowsWaitForARoomTopicWithConsumptionPausedAndThenPublishEverythingOnce() {
        topics.states.put("r1", RoomTopics.State.PENDING);
        comment("r1", "c1");

        await().atMost(TIMEOUT).until(() -> consumer.paused().contains(INGRESS_0));
        assertThat(producer.commitCount()).isZero();

        topics.states.put("r1", RoomTopics.State.READY);
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);
        comment("r1", "c2");
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 2);

        assertThat(consumer.paused()).isEmpty();
        assertThat(batches()).extracting(batch -> batch.comments().get(0).id()).containsExactly("c1", "c2");
    }

    @Test
    void aPendingRoomTopicHoldsBackOnlyTheRoomsOfItsPartition() {
        topics.states.put("r1", RoomTopics.State.PENDING);
        comment("r1", "c1");
        comment("r3", "c3"); // same partition as r1: its offset cannot move past r1's record
        consumer.addRecord(commentRecord(1, "r2", "c2"));

        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);
        assertThat(batches()).extracting(Batch::room).containsExactly("r2");
        assertThat(committedOffsets()).containsOnlyKeys(INGRESS_1).containsEntry(INGRESS_1, new OffsetAndMetadata(1));
        await().atMost(TIMEOUT).until(() -> consumer.paused().equals(java.util.Set.of(INGRESS_0)));

        consumer.addRecord(commentRecord(1, "r2", "c4"));
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 2);
        assertThat(batches()).as("the other partition goes on while the topic is pending")
                .extracting(Batch::room).containsExactly("r2", "r2");

        topics.states.put("r1", RoomTopics.State.READY);
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 3);
        assertThat(batches()).extracting(batch -> batch.comments().get(0).id()).containsExactly("c2", "c4", "c1", "c3");
        assertThat(committedOffsets()).containsEntry(INGRESS_0, new OffsetAndMetadata(2));
        await().atMost(TIMEOUT).until(() -> consumer.paused().isEmpty());
    }

    @Test
    void anOpenBreakerKeepsTheWindowsWaitingWithConsumptionPausedThenPublishesThemOnce() {
        breaker.transitionToForcedOpenState();
        comment("r1", "c1");

        await().atMost(TIMEOUT).until(() -> consumer.paused().contains(INGRESS_0));
        await().during(Duration.ofMillis(300)).atMost(TIMEOUT).until(() -> producer.commitCount() == 0);

        breaker.transitionToClosedState();
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);
        comment("r1", "c2");
        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 2);

        assertThat(consumer.closed()).as("the session went on").isFalse();
        assertThat(batches()).extracting(batch -> batch.comments().get(0).id()).containsExactly("c1", "c2");
        assertThat(consumer.paused()).isEmpty();
    }

    @Test
    void aRoomWhoseTopicCannotBeCreatedLosesOnlyItsOwnWindow() {
        topics.states.put("r1", RoomTopics.State.FAILED);
        comment("r1", "c1");
        comment("r2", "c2");

        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);

        assertThat(batches()).extracting(Batch::room).containsExactly("r2");
        assertThat(committedOffsets()).containsEntry(INGRESS_0, new OffsetAndMetadata(2));
    }

    @Test
    void anUndecodableRecordIsSkippedAndItsOffsetCommitted() {
        consumer.addRecord(new ConsumerRecord<>(Topics.INGRESS, 0, nextOffset(0), "r1", new byte[] {'{'}));
        comment("r1", "c1");

        await().atMost(TIMEOUT).until(() -> producer.commitCount() >= 1);

        assertThat(batches()).singleElement().satisfies(batch -> assertThat(batch.comments()).hasSize(1));
        assertThat(committedOffsets()).containsEntry(INGRESS_0, new OffsetAndMetadata(2));
    }

    @Test
    void stopClosesBothClients() throws InterruptedException {
        loop.stop();
        thread.join(TIMEOUT.toMillis());

        assertThat(consumer.closed()).isTrue();
        assertThat(producer.closed()).isTrue();
    }

    private void comment(String room, String id) {
        consumer.addRecord(commentRecord(room, id));
    }

    private ConsumerRecord<String, byte[]> commentRecord(String room, String id) {
        return commentRecord(0, room, id);
    }

    private ConsumerRecord<String, byte[]> commentRecord(int partition, String room, String id) {
        Ingress ingress = new Ingress("gw-1", "conn-1", ALICE, NOW - 10, new ClientFrame.Comment(room, id, "hi " + id, null, null));
        return new ConsumerRecord<>(Topics.INGRESS, partition, nextOffset(partition), room, CODEC.encodeIngress(ingress));
    }

    private long nextOffset(int partition) {
        long offset = nextOffsets.getOrDefault(partition, 0L);
        nextOffsets.put(partition, offset + 1);
        return offset;
    }

    private List<Batch> batches() {
        return roomRecords().stream().map(record -> CODEC.decodeBatch(record.value())).toList();
    }

    /** What the committed transactions sent to room topics (not the room states). */
    private List<ProducerRecord<String, byte[]>> roomRecords() {
        return producer.history().stream().filter(record -> record.topic().startsWith(Topics.ROOM_PREFIX)).toList();
    }

    private Map<TopicPartition, OffsetAndMetadata> committedOffsets() {
        List<Map<String, Map<TopicPartition, OffsetAndMetadata>>> history = producer.consumerGroupOffsetsHistory();
        return history.get(history.size() - 1).values().iterator().next();
    }

    /**
     * A mock consumer that behaves a little more like a broker: an empty poll waits a little
     * instead of spinning, and the records of each partition are kept as a log, so that a
     * {@code seek} back hands them out again (MockConsumer alone forgets a record once polled).
     * Seeks are recorded, so that a test need not sample the loop thread's transient position.
     * MockConsumer is not thread-safe: every method here holds its monitor, as its own
     * synchronized methods do.
     */
    private static final class SlowMockConsumer extends MockConsumer<String, byte[]> {

        private final Map<TopicPartition, List<ConsumerRecord<String, byte[]>>> log = new HashMap<>();
        private final List<Map.Entry<TopicPartition, Long>> seeks = new ArrayList<>();
        /** True inside MockConsumer's poll, whose own offset reset also calls seek. */
        private boolean polling;

        SlowMockConsumer() {
            super(OffsetResetStrategy.EARLIEST);
        }

        @Override
        public synchronized ConsumerRecords<String, byte[]> poll(Duration timeout) {
            ConsumerRecords<String, byte[]> records;
            polling = true;
            try {
                records = super.poll(timeout);
            } finally {
                polling = false;
            }
            if (records.isEmpty() && !timeout.isZero()) {
                try {
                    wait(Math.min(5, Math.max(1, timeout.toMillis())));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return records;
        }

        @Override
        public synchronized void addRecord(ConsumerRecord<String, byte[]> record) {
            log.computeIfAbsent(new TopicPartition(record.topic(), record.partition()), p -> new ArrayList<>())
                    .add(record);
            super.addRecord(record);
        }

        /** Adds records so that no poll sees only some of them. */
        @SafeVarargs
        final synchronized void addAtomically(ConsumerRecord<String, byte[]>... records) {
            for (ConsumerRecord<String, byte[]> record : records) {
                addRecord(record);
            }
        }

        @Override
        public synchronized void seek(TopicPartition partition, long offset) {
            super.seek(partition, offset);
            if (polling) {
                return;
            }
            seeks.add(Map.entry(partition, offset));
            // as a broker would: everything from the new position is fetched again
            for (ConsumerRecord<String, byte[]> record : log.getOrDefault(partition, List.of())) {
                if (record.offset() >= offset) {
                    super.addRecord(record);
                }
            }
        }

        /** Every seek the loop made (not MockConsumer's own offset resets), in order. */
        synchronized List<Map.Entry<TopicPartition, Long>> seeks() {
            return List.copyOf(seeks);
        }
    }

    /** A mock producer that can fail one commit on demand. */
    private static final class FailingMockProducer extends MockProducer<String, byte[]> {

        final AtomicBoolean failNextCommit = new AtomicBoolean();
        private final AtomicInteger aborts = new AtomicInteger();

        FailingMockProducer() {
            super(true, new StringSerializer(), new ByteArraySerializer());
        }

        @Override
        public void commitTransaction() {
            if (failNextCommit.getAndSet(false)) {
                throw new KafkaException("injected commit failure");
            }
            super.commitTransaction();
        }

        @Override
        public void abortTransaction() {
            super.abortTransaction();
            aborts.incrementAndGet();
        }

        /** How many transactions were aborted (MockProducer's own flag is reset by the next begin). */
        int aborts() {
            return aborts.get();
        }
    }

    /** Topics that exist unless a test says otherwise. */
    private static final class FakeTopics implements RoomTopics, IngressTopic {

        final Map<String, State> states = new ConcurrentHashMap<>();

        @Override
        public void prepare(String room) {
        }

        @Override
        public State ensure(String room) {
            return states.getOrDefault(room, State.READY);
        }

        @Override
        public CompletionStage<Void> ensure() {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public boolean exists(String room) {
            return states.getOrDefault(room, State.READY) == State.READY;
        }

        @Override
        public CompletionStage<Boolean> delete(String room) {
            return CompletableFuture.completedFuture(true);
        }
    }
}
