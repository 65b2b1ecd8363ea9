/** Rooms with local viewers: membership, the ring of recent batches (resume), and the {@link dev.danmaku.gateway.room.RoomFeed} port that reads the room topics. */
@NullMarked
package dev.danmaku.gateway.room;

import org.jspecify.annotations.NullMarked;
