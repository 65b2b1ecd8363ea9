/** Codecs between frames and bytes: one class per wire format. */
@NullMarked
package dev.danmaku.protocol.codec;

import org.jspecify.annotations.NullMarked;
