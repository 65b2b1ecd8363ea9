package dev.danmaku.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.FrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pre-framed buffer of a shared batch is a valid, unmasked WebSocket frame of the codec's bytes. */
class SharedBatchTest {

    private final FrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final FrameCodec cbor = new CborFrameCodec(Limits.DEFAULTS);
    private final Codecs codecs = new Codecs(List.of(json, cbor));

    private SharedBatch batch(int comments) {
        List<ServerFrame.BatchComment> list = new ArrayList<>();
        for (int i = 0; i < comments; i++) {
            list.add(new ServerFrame.BatchComment("c" + i, new User("u" + i, "A"), "hello " + i, "#ffffff",
                    Mode.SCROLL, i));
        }
        return new SharedBatch(ServerFrame.Batch.ofComments("r1", 1, list, 1).withSeq(7), 1, codecs);
    }

    /** 0 comments: a payload under 126 bytes; 3: under 64 KiB; 700: over 64 KiB (8-byte length). */
    @ParameterizedTest
    @ValueSource(ints = {0, 3, 700})
    void frameDecodesToTheCodecsBytes(int comments) {
        SharedBatch batch = batch(comments);
        for (FrameCodec codec : List.of(json, cbor)) {
            byte[] bytes = batch.bytes(codec);
            ByteBuf frame = batch.frame(codec);
            assertThat(batch.frame(codec)).as("made once").isSameAs(frame);
            assertThat(frame.readableBytes()).isEqualTo(SharedBatch.payloadOffset(bytes.length) + bytes.length);

            // a client's decoder (server frames unmasked) reads it back as one whole frame
            EmbeddedChannel client = new EmbeddedChannel(new WebSocket13FrameDecoder(
                    WebSocketDecoderConfig.newBuilder().expectMaskedFrames(false).maxFramePayloadLength(1 << 20).build()));
            client.writeInbound(frame.retainedDuplicate());
            WebSocketFrame decoded = client.readInbound();
            assertThat(decoded).isInstanceOf(codec.binary() ? BinaryWebSocketFrame.class : TextWebSocketFrame.class);
            assertThat(decoded.isFinalFragment()).isTrue();
            assertThat(ByteBufUtil.getBytes(decoded.content())).isEqualTo(bytes);
            decoded.release();
            assertThat(frame.refCnt()).as("duplicates given back").isEqualTo(1);
            assertThat(client.finishAndReleaseAll()).isFalse();
            assertThat(Unpooled.wrappedBuffer(bytes)).isEqualTo(frame.slice(SharedBatch.payloadOffset(bytes.length),
                    bytes.length));
        }
    }
}
