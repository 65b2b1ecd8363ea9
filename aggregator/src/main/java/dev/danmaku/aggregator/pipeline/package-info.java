/**
 * The consume-transform-produce loop: one thread, a raw Kafka consumer and a transactional
 * producer, one transaction per window tick (batches and consumed offsets together).
 * Kafka clients are created through the {@link dev.danmaku.aggregator.pipeline.KafkaClients} port.
 */
@NullMarked
package dev.danmaku.aggregator.pipeline;

import org.jspecify.annotations.NullMarked;
