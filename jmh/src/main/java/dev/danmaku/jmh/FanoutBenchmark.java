package dev.danmaku.jmh;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.fanout.Outbox;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.FrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.reactivestreams.Subscription;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import reactor.core.publisher.BaseSubscriber;

/**
 * The gateway's per-viewer write path without a network: a room's {@link SharedBatch} offered to
 * each viewer's {@link Outbox}, taken by the connection's writer, wrapped the way the gateway's
 * WebSocket session wraps it ({@link NettyDataBufferFactory#wrap(byte[])}, no copy) and written as
 * a text frame through Netty's WebSocket frame encoder into an {@link EmbeddedChannel} (the bytes
 * that would go to the socket are released at once). Scores are per viewer delivery (one batch to
 * one viewer); a batch carries 35 comments, so a comment delivery costs a 35th of it.
 *
 * <p>Baselines of the same run for the write alone: the batch copied into a new pooled buffer for
 * each viewer (what a server that encodes or copies per connection pays), and one shared pooled
 * buffer duplicated per viewer ({@link ByteBuf#retainedDuplicate()}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FanoutBenchmark {

    /** Viewers of the room in {@link #fanOutOneBatch} (its score is per viewer: keep the two equal). */
    static final int VIEWERS = 1000;

    private final JsonFrameCodec json = new JsonFrameCodec(Limits.DEFAULTS);
    private final Codecs codecs = new Codecs(List.of(json, new CborFrameCodec(Limits.DEFAULTS)));
    private final NettyDataBufferFactory bufferFactory = new NettyDataBufferFactory(ByteBufAllocator.DEFAULT);
    private ServerFrame.Batch batch;
    private byte[] encoded;
    private ByteBuf shared;
    private EmbeddedChannel channel;
    private Viewer[] room;
    private long seq;

    /** One connection: its outbox, drained by a writer into its own channel, as the gateway does. */
    private final class Viewer extends BaseSubscriber<Outbound> {
        final Outbox outbox = new Outbox(64, 16, System::nanoTime, new OutboundStats());
        final EmbeddedChannel out = newChannel();
        final FrameCodec codec = json;

        Viewer() {
            outbox.flux().subscribe(this);
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
        }

        @Override
        protected void hookOnNext(Outbound item) {
            byte[] bytes = item instanceof SharedBatch b ? b.bytes(codec) : codec.encode(((Outbound.Frame) item).frame());
            DataBuffer buffer = bufferFactory.wrap(bytes);
            write(out, new TextWebSocketFrame(NettyDataBufferFactory.toByteBuf(buffer)));
        }
    }

    @Setup(Level.Trial)
    public void setUp() {
        batch = Fixtures.batch();
        encoded = json.encode(batch);
        shared = PooledByteBufAllocator.DEFAULT.directBuffer(encoded.length).writeBytes(encoded);
        channel = newChannel();
        room = new Viewer[VIEWERS];
        for (int i = 0; i < VIEWERS; i++) {
            room[i] = new Viewer();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        shared.release();
        channel.finishAndReleaseAll();
        for (Viewer viewer : room) {
            viewer.dispose();
            viewer.out.finishAndReleaseAll();
        }
    }

    /**
     * The whole path for a room: a new batch (encoded once, by the first viewer's writer) offered
     * to every viewer's outbox, each writer wrapping the shared bytes and writing its frame.
     */
    @Benchmark
    @OperationsPerInvocation(VIEWERS)
    public void fanOutOneBatch() {
        SharedBatch item = new SharedBatch(batch.withSeq(++seq), 0L, codecs);
        for (Viewer viewer : room) {
            viewer.outbox.offer(item);
        }
    }

    /** The write alone, as the gateway does it: the shared bytes wrapped (no copy) per viewer. */
    @Benchmark
    public void writeWrappedSharedBytes() {
        DataBuffer buffer = bufferFactory.wrap(encoded);
        write(channel, new TextWebSocketFrame(NettyDataBufferFactory.toByteBuf(buffer)));
    }

    /** Alternative: one pooled direct buffer holding the batch, duplicated per viewer. */
    @Benchmark
    public void writeRetainedDuplicate() {
        write(channel, new TextWebSocketFrame(shared.retainedDuplicate()));
    }

    /** Baseline: the batch copied into a new pooled buffer for each viewer. */
    @Benchmark
    public void writeCopyPerViewer() {
        ByteBuf copy = PooledByteBufAllocator.DEFAULT.directBuffer(encoded.length).writeBytes(encoded);
        write(channel, new TextWebSocketFrame(copy));
    }

    /** Baseline: Unpooled.wrappedBuffer straight away, without Spring's DataBuffer wrapper. */
    @Benchmark
    public void writeUnpooledWrap() {
        write(channel, new TextWebSocketFrame(Unpooled.wrappedBuffer(encoded)));
    }

    private static EmbeddedChannel newChannel() {
        return new EmbeddedChannel(new WebSocket13FrameEncoder(false));
    }

    /** Writes and flushes one frame, then releases what reached the "socket". */
    private static void write(EmbeddedChannel channel, TextWebSocketFrame frame) {
        channel.writeAndFlush(frame);
        Object out;
        while ((out = channel.readOutbound()) != null) {
            ReferenceCountUtil.release(out);
        }
    }
}
