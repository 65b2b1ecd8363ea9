package dev.danmaku.protocol.codec;

import dev.danmaku.protocol.Limits;

/** {@code danmaku.v1.cbor}: binary frames holding the same objects as the JSON codec, in CBOR. */
public final class CborFrameCodec extends JacksonFrameCodec {

    public static final String SUBPROTOCOL = "danmaku.v1.cbor";

    public CborFrameCodec(Limits limits) {
        super(Mappers.cbor(), limits);
    }

    @Override
    public String subprotocol() {
        return SUBPROTOCOL;
    }

    @Override
    public boolean binary() {
        return true;
    }

    @Override
    String format() {
        return "CBOR";
    }
}
