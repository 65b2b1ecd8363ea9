package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.ServerFrame;

/**
 * One item of a connection's outbound queue: either a frame for this connection alone (encoded
 * when it is written), or a room's batch whose bytes are shared by every viewer of the room.
 */
public sealed interface Outbound permits Outbound.Frame, SharedBatch {

    /** A frame for one connection: {@code welcome}, {@code joined}, {@code ack}, {@code error}, ... */
    record Frame(ServerFrame frame) implements Outbound {
    }

    static Outbound of(ServerFrame frame) {
        return new Frame(frame);
    }
}
