package dev.danmaku.protocol.bus;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.User;

/**
 * A viewer's send as a gateway accepted it, written to {@link Topics#INGRESS} with the room as key.
 *
 * @param node  the gateway node that accepted it
 * @param conn  the connection it came on
 * @param user  the sender, from their token
 * @param ts    when the gateway accepted it (epoch millis)
 * @param frame the validated frame
 */
public record Ingress(String node, String conn, User user, long ts, ClientFrame.RoomFrame frame) {

    public String room() {
        return frame.room();
    }
}
