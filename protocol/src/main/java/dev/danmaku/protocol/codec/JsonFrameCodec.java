package dev.danmaku.protocol.codec;

import dev.danmaku.protocol.Limits;

/** {@code danmaku.v1.json}: text frames holding one JSON object each. */
public final class JsonFrameCodec extends JacksonFrameCodec {

    public static final String SUBPROTOCOL = "danmaku.v1.json";

    public JsonFrameCodec(Limits limits) {
        super(Mappers.json(), limits);
    }

    @Override
    public String subprotocol() {
        return SUBPROTOCOL;
    }

    @Override
    public boolean binary() {
        return false;
    }

    @Override
    String format() {
        return "JSON";
    }
}
