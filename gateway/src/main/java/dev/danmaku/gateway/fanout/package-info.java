/** What goes out to a connection: frames, and batches encoded once per codec and shared by every viewer of a room. */
@NullMarked
package dev.danmaku.gateway.fanout;

import org.jspecify.annotations.NullMarked;
