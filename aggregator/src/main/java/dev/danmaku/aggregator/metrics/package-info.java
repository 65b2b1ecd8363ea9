/**
 * The aggregator's metrics (Micrometer, names agreed in the project's notes) and the small HTTP
 * server that exposes them with a health check on the management port.
 */
@NullMarked
package dev.danmaku.aggregator.metrics;

import org.jspecify.annotations.NullMarked;
