package dev.danmaku.protocol.bus;

/**
 * One gateway's viewer count of one room, published every few seconds to {@link Topics#PRESENCE}
 * (key = room). The aggregator sums the latest count of every gateway that was heard from
 * recently; a gateway publishes 0 once for a room it no longer has viewers of.
 *
 * @param node    the gateway node
 * @param room    the room
 * @param viewers its local viewers of the room
 * @param ts      when it was counted (epoch millis)
 */
public record Presence(String node, String room, int viewers, long ts) {

    public Presence {
        if (viewers < 0) {
            throw new IllegalArgumentException("viewers must be >= 0");
        }
    }
}
