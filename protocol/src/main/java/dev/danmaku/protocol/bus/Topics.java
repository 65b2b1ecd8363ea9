package dev.danmaku.protocol.bus;

import dev.danmaku.protocol.Rules;

/** The Kafka topics the services share. */
public final class Topics {

    /** Everything viewers send, keyed by room, so that one aggregator owns a room. */
    public static final String INGRESS = "danmaku.ingress";
    /** Prefix of the per-room batch topics (one partition each); the offset is the batch's seq. */
    public static final String ROOM_PREFIX = "danmaku.room.";
    /** Each room's state (compacted, key = room, {@link RoomState}), written by the aggregator in its transactions. */
    public static final String STATE = "danmaku.state";
    /** Gateways' viewer counts per room (key = room), summed by the aggregator. */
    public static final String PRESENCE = "danmaku.presence";

    private Topics() {
    }

    public static String room(String room) {
        return ROOM_PREFIX + Rules.room(room);
    }

    /** The room id of a room topic's name. */
    public static String roomOf(String topic) {
        if (!topic.startsWith(ROOM_PREFIX)) {
            throw new IllegalArgumentException("not a room topic: " + topic);
        }
        return topic.substring(ROOM_PREFIX.length());
    }
}
