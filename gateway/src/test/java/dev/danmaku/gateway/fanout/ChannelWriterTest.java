package dev.danmaku.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.codec.FrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The writer on a real Netty pipeline (an embedded channel with the server's WebSocket encoder):
 * batches, written as pre-framed bytes that the encoder lets through, and the connection's own
 * frames, which it encodes, reach the socket's end whole and in the order queued, past every
 * outbound handler.
 */
class ChannelWriterTest {

    private final FrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final Codecs codecs = new Codecs(List.of(json));

    private SharedBatch batch(long seq) {
        List<ServerFrame.BatchComment> comments = List.of(new ServerFrame.BatchComment("c" + seq,
                new User("u1", "A"), "hello " + seq, "#ffffff", Mode.SCROLL, seq));
        return new SharedBatch(ServerFrame.Batch.ofComments("r1", seq, comments, 0).withSeq(seq), seq, codecs);
    }

    /** Notes the type of what passes it on the way out, and passes it on. */
    private static final class Seen extends ChannelOutboundHandlerAdapter {
        final List<String> types = new ArrayList<>();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            types.add(msg instanceof ByteBuf ? "bytes" : msg.getClass().getSimpleName());
            ctx.write(msg, promise);
        }
    }

    /** Writes two batches around an {@code ack}, and reads back what reached the socket's end, decoded. */
    private List<String> writeAndRead(EmbeddedChannel channel) {
        Outbox outbox = new Outbox(64, 16, System::nanoTime, new OutboundStats());
        ChannelWriter.attach(channel, outbox, json, (item, bytes) -> { });
        outbox.offer(batch(1));
        outbox.offer(new Outbound.Frame(new ServerFrame.Ack("m1")));
        outbox.offer(batch(2));
        channel.runPendingTasks();

        EmbeddedChannel client = new EmbeddedChannel(new WebSocket13FrameDecoder(
                WebSocketDecoderConfig.newBuilder().expectMaskedFrames(false).build()));
        Object written;
        while ((written = channel.readOutbound()) != null) {
            client.writeInbound(written);
        }
        List<String> texts = new ArrayList<>();
        Object frame;
        while ((frame = client.readInbound()) != null) {
            texts.add(((TextWebSocketFrame) frame).text());
            ReferenceCountUtil.release(frame);
        }
        client.finishAndReleaseAll();
        return texts;
    }

    private static void assertInOrder(List<String> texts) {
        assertThat(texts).hasSize(3);
        assertThat(texts.get(0)).contains("\"type\":\"batch\"").contains("\"seq\":1");
        assertThat(texts.get(1)).contains("\"type\":\"ack\"").contains("m1");
        assertThat(texts.get(2)).contains("\"type\":\"batch\"").contains("\"seq\":2");
    }

    @Test
    void batchesPassTheEncoderAsBytesAndOwnFramesAreEncoded_inTheOrderQueued() {
        Seen socketSide = new Seen();
        EmbeddedChannel channel = new EmbeddedChannel(socketSide, new WebSocket13FrameEncoder(false),
                new ChannelInboundHandlerAdapter());
        assertInOrder(writeAndRead(channel));
        // the batches came past the encoder as bytes, the ack as a frame the encoder then encoded
        assertThat(socketSide.types).containsExactly("bytes", "bytes", "bytes");
        channel.finishAndReleaseAll();
    }

    @Test
    void anotherOutboundHandlerAfterTheEncoderSeesEveryWrite() {
        Seen between = new Seen();
        EmbeddedChannel channel = new EmbeddedChannel(new WebSocket13FrameEncoder(false), between);
        assertInOrder(writeAndRead(channel));
        assertThat(between.types).as("nothing goes around it").containsExactly("bytes", "TextWebSocketFrame", "bytes");
        channel.finishAndReleaseAll();
    }

    @Test
    void withoutAWebSocketEncoderEverythingGoesThroughThePipeline() {
        Seen seen = new Seen();
        EmbeddedChannel channel = new EmbeddedChannel(seen);
        Outbox outbox = new Outbox(64, 16, System::nanoTime, new OutboundStats());
        ChannelWriter.attach(channel, outbox, json, (item, bytes) -> { });
        SharedBatch batch = batch(1);
        outbox.offer(batch);
        channel.runPendingTasks();
        ByteBuf frame = channel.readOutbound();
        assertThat(ByteBufUtil.getBytes(frame)).as("the pre-framed frame").isEqualTo(ByteBufUtil.getBytes(batch.frame(json)));
        frame.release();
        assertThat(seen.types).containsExactly("bytes");
        channel.finishAndReleaseAll();
    }
}
