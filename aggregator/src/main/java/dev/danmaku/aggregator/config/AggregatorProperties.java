package dev.danmaku.aggregator.config;

import dev.danmaku.aggregator.batch.RoomPolicy;
import dev.danmaku.protocol.Gift;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
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
 * @param maxCommentsPerWindow  memory bound: the most comments one room's window holds before the
 *                              density cap chooses; beyond it lower priorities give way, counted as {@code dropped}
 * @param recentIdsPerRoom      how many published comment ids a room remembers to refuse a retried send
 * @param transactionTimeout    the producer's {@code transaction.timeout.ms}: how long a crashed
 *                              instance's open transaction can hold back readers of a room topic
 * @param topicCreationAttempts attempts to create a topic while the broker answers with retriable errors
 * @param density               the most comments one room's batch carries (per window); more are
 *                              dropped by priority and counted as {@code dropped}
 * @param giftIdsPerRoom        gift ids a room remembers (with {@code dedupHorizon}) to count each gift once
 * @param dedupHorizon          how long comment and gift ids are remembered
 * @param recentComments        the latest comments kept in the room state (the snapshot's {@code recent})
 * @param combo                 a user's sends of one gift at most this far apart continue a combo streak
 * @param commentBurst          per user and room: comments allowed at once
 * @param commentInterval       per user and room: one more comment allowed every interval
 * @param slowMode              rooms in slow mode, with their interval (one comment per user per interval)
 * @param duplicateText         the same user's same text in a room within this is dropped
 * @param giftPriority          users who sent a gift this recently keep their comments under the density cap
 * @param blockedWords          comments containing one of these (NFKC, case-insensitive) are dropped
 * @param stateLoadTimeout      how long reading {@code danmaku.state} back on an assignment may take
 * @param roomIdle              a room without messages and without viewers for this long is evicted
 *                              from memory (its state stays on {@code danmaku.state}) and its topic deleted
 * @param managementPort        the port of {@code /actuator/prometheus} and {@code /actuator/health};
 *                              0 = any free port, -1 = none
 */
@ConfigurationProperties("danmaku.aggregator")
public record AggregatorProperties(
        @DefaultValue("danmaku-aggregator") String groupId,
        @DefaultValue("100ms") Duration window,
        @DefaultValue("1h") Duration roomTopicRetention,
        @DefaultValue("500") int maxCommentsPerWindow,
        @DefaultValue("1024") int recentIdsPerRoom,
        @DefaultValue("10s") Duration transactionTimeout,
        @DefaultValue("10") int topicCreationAttempts,
        @DefaultValue("40") int density,
        @DefaultValue("10000") int giftIdsPerRoom,
        @DefaultValue("10m") Duration dedupHorizon,
        @DefaultValue("20") int recentComments,
        @DefaultValue("3s") Duration combo,
        @DefaultValue("3") int commentBurst,
        @DefaultValue("1s") Duration commentInterval,
        @Nullable Map<String, Duration> slowMode,
        @DefaultValue("30s") Duration duplicateText,
        @DefaultValue("1m") Duration giftPriority,
        @Nullable List<String> blockedWords,
        @DefaultValue("30s") Duration stateLoadTimeout,
        @DefaultValue("24h") Duration roomIdle,
        @DefaultValue("8081") int managementPort) {

    public AggregatorProperties {
        slowMode = slowMode == null ? Map.of() : Map.copyOf(slowMode);
        blockedWords = blockedWords == null ? List.of() : List.copyOf(blockedWords);
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
        if (roomIdle.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException("danmaku.aggregator.room-idle must be at least 1s");
        }
        if (managementPort < -1 || managementPort > 65535) {
            throw new IllegalArgumentException("danmaku.aggregator.management-port must be -1 (none), 0 (any) or a port");
        }
        if (transactionTimeout.compareTo(window.multipliedBy(10)) < 0
                || transactionTimeout.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException(
                    "danmaku.aggregator.transaction-timeout must be at least 1s and 10 windows");
        }
    }

    /** The rules every room follows, with the gift catalogue. */
    public RoomPolicy roomPolicy(List<Gift> gifts) {
        return new RoomPolicy(maxCommentsPerWindow, density, recentIdsPerRoom, giftIdsPerRoom, dedupHorizon,
                recentComments, 1000, combo, commentBurst, commentInterval, slowMode, duplicateText, giftPriority,
                blockedWords, gifts);
    }
}
