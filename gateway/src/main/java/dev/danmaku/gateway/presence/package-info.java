/** This node's viewer counts, published per room to {@code danmaku.presence} for the aggregator to sum. */
@NullMarked
package dev.danmaku.gateway.presence;

import org.jspecify.annotations.NullMarked;
