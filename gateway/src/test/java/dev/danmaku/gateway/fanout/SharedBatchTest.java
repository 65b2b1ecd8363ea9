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
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Inflater;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pre-framed buffers of a shared batch are valid, unmasked WebSocket frames of the codec's bytes, compressed or not. */
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

    /**
     * The compressed frame: RSV1 set, and its payload, with the {@code 00 00 ff ff} put back,
     * inflates on its own (a fresh inflater: no context from earlier messages) to the codec's bytes.
     */
    @ParameterizedTest
    @ValueSource(ints = {0, 3, 700, 5000})
    void deflatedFrameInflatesOnItsOwnToTheCodecsBytes(int comments) throws Exception {
        SharedBatch batch = batch(comments);
        for (FrameCodec codec : List.of(json, cbor)) {
            byte[] bytes = batch.bytes(codec);
            ByteBuf frame = batch.deflatedFrame(codec);
            assertThat(batch.deflatedFrame(codec)).as("made once").isSameAs(frame);

            EmbeddedChannel client = new EmbeddedChannel(new WebSocket13FrameDecoder(
                    WebSocketDecoderConfig.newBuilder().expectMaskedFrames(false).allowExtensions(true)
                            .maxFramePayloadLength(1 << 24).build()));
            client.writeInbound(frame.retainedDuplicate());
            WebSocketFrame decoded = client.readInbound();
            assertThat(decoded).isInstanceOf(codec.binary() ? BinaryWebSocketFrame.class : TextWebSocketFrame.class);
            assertThat(decoded.isFinalFragment()).isTrue();
            assertThat(decoded.rsv()).as("RSV1 only").isEqualTo(0x4);
            byte[] payload = ByteBufUtil.getBytes(decoded.content());
            decoded.release();
            assertThat(client.finishAndReleaseAll()).isFalse();
            if (comments > 3) {
                assertThat(payload.length).as("compressed").isLessThan(bytes.length / 2);
            }
            assertThat(inflate(payload)).isEqualTo(bytes);
        }
    }

    private static byte[] inflate(byte[] payload) throws Exception {
        Inflater inflater = new Inflater(true);
        byte[] input = Arrays.copyOf(payload, payload.length + 4);
        input[payload.length + 2] = (byte) 0xff;
        input[payload.length + 3] = (byte) 0xff;
        inflater.setInput(input);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        do {
            n = inflater.inflate(chunk);
            out.write(chunk, 0, n);
        } while (n > 0 || !inflater.needsInput());
        inflater.end();
        return out.toByteArray();
    }
}
