package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.codec.FrameCodec;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The codecs (WebSocket subprotocols) this gateway speaks, the first being the default. Each has
 * an index, the slot of its bytes in a {@link SharedBatch}. Immutable, thread-safe.
 */
public final class Codecs {

    private final List<FrameCodec> codecs;

    public Codecs(List<FrameCodec> codecs) {
        if (codecs.isEmpty()) {
            throw new IllegalArgumentException("at least one codec");
        }
        this.codecs = List.copyOf(codecs);
    }

    public FrameCodec defaultCodec() {
        return codecs.get(0);
    }

    /** The codec of a negotiated subprotocol; the default one when none was negotiated. */
    public FrameCodec forSubprotocol(@Nullable String subprotocol) {
        if (subprotocol != null) {
            for (FrameCodec codec : codecs) {
                if (codec.subprotocol().equals(subprotocol)) {
                    return codec;
                }
            }
        }
        return defaultCodec();
    }

    public List<String> subprotocols() {
        return codecs.stream().map(FrameCodec::subprotocol).toList();
    }

    int size() {
        return codecs.size();
    }

    int indexOf(FrameCodec codec) {
        int index = codecs.indexOf(codec);
        if (index < 0) {
            throw new IllegalArgumentException("unknown codec " + codec.subprotocol());
        }
        return index;
    }
}
