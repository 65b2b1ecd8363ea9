/** Per user and room comment limits (token buckets, slow mode). */
@NullMarked
package dev.danmaku.aggregator.ratelimit;

import org.jspecify.annotations.NullMarked;
