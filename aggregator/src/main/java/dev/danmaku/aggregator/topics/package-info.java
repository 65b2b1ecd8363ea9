/**
 * Creation of the topics the aggregator writes to or reads from: the room topics on first use
 * and {@code danmaku.ingress} at start-up. Asynchronous, with retries; never blocks the loop.
 */
@NullMarked
package dev.danmaku.aggregator.topics;

import org.jspecify.annotations.NullMarked;
