/** The gateway's own metrics (Micrometer), counted where the frames are written. */
@NullMarked
package dev.danmaku.gateway.metrics;

import org.jspecify.annotations.NullMarked;
