/**
 * Windows and batches: what a room's traffic of one window becomes. Pure logic, no I/O, no
 * Kafka: the loop in {@code pipeline} feeds it and publishes what it drains.
 */
@NullMarked
package dev.danmaku.aggregator.batch;

import org.jspecify.annotations.NullMarked;
