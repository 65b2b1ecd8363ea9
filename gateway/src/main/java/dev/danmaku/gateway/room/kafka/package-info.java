/** The Kafka implementation of {@link dev.danmaku.gateway.room.RoomFeed}: one consumer per node, assigned the topics of the rooms with local viewers. */
@NullMarked
package dev.danmaku.gateway.room.kafka;

import org.jspecify.annotations.NullMarked;
