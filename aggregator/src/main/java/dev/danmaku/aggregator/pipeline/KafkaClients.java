package dev.danmaku.aggregator.pipeline;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Creates the two Kafka clients of one loop session. Each call returns a new client that the
 * caller owns, uses from one thread and closes. A test may return Kafka's mock clients.
 */
public interface KafkaClients {

    /**
     * A consumer for the aggregators' group: {@code isolation.level=read_committed}, no automatic
     * offset commits (offsets are committed inside the producer's transactions), not yet subscribed.
     */
    Consumer<String, byte[]> consumer();

    /**
     * A transactional producer with this instance's {@code transactional.id}, idempotent, acks=all;
     * {@code initTransactions()} not yet called.
     */
    Producer<String, byte[]> producer();
}
