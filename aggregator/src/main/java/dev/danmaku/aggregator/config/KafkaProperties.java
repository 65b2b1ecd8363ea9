package dev.danmaku.aggregator.config;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code danmaku.kafka.*}: the broker, shared with the gateway.
 *
 * @param bootstrapServers  the clients' {@code bootstrap.servers} (env {@code DANMAKU_KAFKA_BOOTSTRAP_SERVERS})
 * @param ingressPartitions partitions of {@code danmaku.ingress} if this service creates it; at most as
 *                          many aggregators share the work
 * @param replicationFactor replication factor of the topics this service creates
 */
@ConfigurationProperties("danmaku.kafka")
public record KafkaProperties(
        @DefaultValue("localhost:9092") String bootstrapServers,
        @DefaultValue("6") int ingressPartitions,
        @DefaultValue("1") short replicationFactor) {

    public KafkaProperties {
        if (bootstrapServers.isBlank()) {
            throw new IllegalArgumentException("danmaku.kafka.bootstrap-servers must not be blank");
        }
        if (ingressPartitions < 1 || replicationFactor < 1) {
            throw new IllegalArgumentException("danmaku.kafka: ingress-partitions and replication-factor must be >= 1");
        }
    }
}
