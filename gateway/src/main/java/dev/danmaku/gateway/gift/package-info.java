/** The gift catalogue: which gifts exist and what they are worth. */
@NullMarked
package dev.danmaku.gateway.gift;

import org.jspecify.annotations.NullMarked;
