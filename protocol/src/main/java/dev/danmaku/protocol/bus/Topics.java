package dev.danmaku.protocol.bus;

import dev.danmaku.protocol.Rules;

/** The Kafka topics the services share. */
public final class Topics {

    /** Everything viewers send, keyed by room, so that one aggregator owns a room. */
    public static final String INGRESS = "danmaku.ingress";
    /** Prefix of the per-room batch topics (one partition each); the offset is the batch's seq. */
    public static final String ROOM_PREFIX = "danmaku.room.";
    /** Gateways' viewer counts per room, keyed by room, read by the aggregators. */
    public static final String PRESENCE = "danmaku.presence";
    /** Each room's state (likes, gift totals, top list, recent ids, mutes), keyed by room; compacted. */
    public static final String STATE = "danmaku.state";

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
