package dev.danmaku.aggregator.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code danmaku.aggregator.*}: how the aggregator consumes, batches and publishes.
 *
 * @param groupId               the consumer group on {@code danmaku.ingress}; every aggregator of one
 *                              deployment uses the same
 * @param window                the batching window: every {@code window} one transaction publishes a
 *                              batch for each room that had traffic
 * @param roomTopicRetention    {@code retention.ms} of the room topics this service creates
 * @param maxCommentsPerWindow  the most comments one room's batch carries; more are counted as
 *                              {@code dropped}
 * @param recentIdsPerRoom      how many published comment ids a room remembers to refuse a retried send
 * @param transactionTimeout    the producer's {@code transaction.timeout.ms}: how long a crashed
 *                              instance's open transaction can hold back readers of a room topic
 * @param topicCreationAttempts attempts to create a topic while the broker answers with retriable errors
 */
@ConfigurationProperties("danmaku.aggregator")
public record AggregatorProperties(
        @DefaultValue("danmaku-aggregator") String groupId,
        @DefaultValue("100ms") Duration window,
        @DefaultValue("1h") Duration roomTopicRetention,
        @DefaultValue("500") int maxCommentsPerWindow,
        @DefaultValue("1024") int recentIdsPerRoom,
        @DefaultValue("10s") Duration transactionTimeout,
        @DefaultValue("10") int topicCreationAttempts) {

    public AggregatorProperties {
        if (groupId.isBlank()) {
            throw new IllegalArgumentException("danmaku.aggregator.group-id must not be blank");
        }
        if (window.compareTo(Duration.ofMillis(10)) < 0 || window.compareTo(Duration.ofSeconds(10)) > 0) {
            throw new IllegalArgumentException("danmaku.aggregator.window must be 10ms..10s, was " + window);
        }
        if (roomTopicRetention.compareTo(Duration.ofMinutes(1)) < 0) {
            throw new IllegalArgumentException("danmaku.aggregator.room-topic-retention must be at least 1m");
        }
        if (maxCommentsPerWindow < 1 || recentIdsPerRoom < 0 || topicCreationAttempts < 1) {
            throw new IllegalArgumentException("danmaku.aggregator: max-comments-per-window >= 1, "
                    + "recent-ids-per-room >= 0, topic-creation-attempts >= 1");
        }
        if (transactionTimeout.compareTo(window.multipliedBy(10)) < 0
                || transactionTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException(
                    "danmaku.aggregator.transaction-timeout must be at least 1s and 10 windows");
        }
    }
}
