/** Viewer counts: the gateways' per-room counts ({@code danmaku.presence}) summed per room. */
@NullMarked
package dev.danmaku.aggregator.presence;

import org.jspecify.annotations.NullMarked;
