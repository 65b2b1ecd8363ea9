/**
 * The aggregator service: consumes {@code danmaku.ingress} in a consumer group, collects each
 * room's traffic into short windows and publishes one batch per room and window to the room's
 * topic, exactly once. Start it with {@link dev.danmaku.aggregator.AggregatorApplication#builder()}.
 */
@NullMarked
package dev.danmaku.aggregator;

import org.jspecify.annotations.NullMarked;
