package dev.danmaku.protocol.codec;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.ServerFrame;

/**
 * Turns client frames from bytes and server frames into bytes for one WebSocket subprotocol.
 * Implementations are thread-safe and hold no per-connection state.
 */
public interface FrameCodec {

    /** The {@code Sec-WebSocket-Protocol} value, e.g. {@code danmaku.v1.json}. */
    String subprotocol();

    /** True when frames travel as binary WebSocket frames, false for text frames. */
    boolean binary();

    /**
     * Decodes and validates one client frame.
     *
     * @throws ProtocolException with the code to answer (and the frame's id, when it had one)
     */
    ClientFrame decode(byte[] bytes);

    byte[] encode(ServerFrame frame);
}
