/** Moderation: blocked words (mutes are part of the room state). */
@NullMarked
package dev.danmaku.aggregator.moderation;

import org.jspecify.annotations.NullMarked;
