package dev.danmaku.gateway.fanout;

import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionEncoder;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import reactor.netty.NettyPipeline;

/**
 * Writes a connection's {@link Outbox} straight to its Netty channel, on the channel's event
 * loop: the fan-out path without a Reactor operator per frame. An offer {@linkplain #queued wakes}
 * it (once per burst of offers, not per item); it then writes what is queued
 * while the channel is writable, and flushes once. When the channel's outbound buffer passes
 * its high water mark it stops, leaving the rest in the Outbox (whose policy then skips comment
 * batches), and resumes when the channel is writable again. A {@link SharedBatch} is written as
 * a duplicate of its one pre-framed direct buffer per codec (no encode, no copy, no frame header
 * per viewer); when permessage-deflate was negotiated, as a duplicate of its one compressed
 * frame, also made once for every viewer.
 *
 * <p>A wake for a room's batch puts the writer in its loop's {@link WriterQueue} (on a
 * {@link FanoutEventLoop}), which one task drains in slices for all the loop's connections; a wake
 * for the connection's own frame ({@code ack}, {@code error}, {@code joined}) is a task of its
 * own, so that a sender's {@code ack} does not wait for the rest of a fan-out.
 *
 * <p>It sits in the channel's pipeline to hear writability changes. {@link #stop} (before the
 * close frame is sent) writes what is queued, then ends it: nothing is written after.
 */
public final class ChannelWriter extends ChannelInboundHandlerAdapter implements Runnable {

    private static final String NAME = "danmaku.writer";
    private static final AtomicIntegerFieldUpdater<ChannelWriter> SCHEDULED =
            AtomicIntegerFieldUpdater.newUpdater(ChannelWriter.class, "scheduled");
    private static final AtomicIntegerFieldUpdater<ChannelWriter> URGENT =
            AtomicIntegerFieldUpdater.newUpdater(ChannelWriter.class, "urgent");
    private static final int NONE = 0;
    private static final int DEFLATE = 1;
    private static final int OTHER = 2;
    private static final String PERMESSAGE_DEFLATE_ENCODER =
            "io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateEncoder";

    private final Channel channel;
    private final Outbox outbox;
    private final FrameCodec codec;
    private final Listener listener;
    /** The loop's queue of writers with batches to write; null on another loop (a task per wake then). */
    private final @Nullable WriterQueue writers;
    /** 1 while in {@code writers} (or its task queued), not run yet. An int field, not an object: 19,000 idle connections. */
    private volatile int scheduled;
    /** 1 while a drain for the connection's own frame is queued, not run yet. */
    private volatile int urgent;
    /** Set by {@link #stop}: no more wakes. */
    private volatile boolean closing;
    /** Set on the event loop once the last drain before the close frame ran: no more writes. */
    private volatile boolean stopped;
    /** A marker write is under way whose completion resumes a drain stopped by an unwritable channel (event loop only). */
    private boolean parked;
    /** {@link #extension()}: -1 until the first write. */
    private int extension = -1;

    /** Hears each frame as it is written (the metrics), on the event loop: must be cheap. */
    @FunctionalInterface
    public interface Listener {
        /** {@code item} is being written with a payload of {@code payloadBytes}. */
        void written(Outbound item, int payloadBytes);
    }

    private ChannelWriter(Channel channel, Outbox outbox, FrameCodec codec, Listener listener) {
        this.channel = channel;
        this.outbox = outbox;
        this.codec = codec;
        this.listener = listener;
        this.writers = channel.eventLoop() instanceof FanoutEventLoop loop ? loop.writers() : null;
    }

    /** Makes the writer of this channel and outbox, and puts it in the channel's pipeline. */
    public static ChannelWriter attach(Channel channel, Outbox outbox, FrameCodec codec, Listener listener) {
        ChannelWriter writer = new ChannelWriter(channel, outbox, codec, listener);
        if (channel.pipeline().get(NettyPipeline.ReactiveBridge) != null) {
            channel.pipeline().addBefore(NettyPipeline.ReactiveBridge, NAME, writer);
        } else {
            channel.pipeline().addLast(NAME, writer);
        }
        outbox.writeTo(writer::queued);
        return writer;
    }

    /** {@code item} was queued: write it soon, on the event loop. Never blocks. */
    void queued(Outbound item) {
        if (closing) {
            return;
        }
        if (writers != null && !(item instanceof SharedBatch)) {
            if (URGENT.compareAndSet(this, 0, 1)) {
                execute(this::urgentDrain); // a task per ack: made when needed, not kept per connection
            }
        } else if (SCHEDULED.compareAndSet(this, 0, 1)) {
            if (writers != null) {
                try {
                    writers.add(this);
                } catch (RejectedExecutionException e) {
                    closing = true; // the event loop is shutting down: so is the connection
                    stopped = true;
                }
            } else {
                execute(this);
            }
        }
    }

    /**
     * The close frame comes next: what is queued now is written first (while the channel takes
     * it), then nothing more. Call before sending the close frame, from any thread: off the event
     * loop, the last drain is a task queued ahead of the close frame's write.
     */
    public void stop() {
        closing = true;
        if (channel.eventLoop().inEventLoop()) {
            lastDrain();
        } else {
            execute(this::lastDrain);
        }
    }

    /**
     * Writes a heartbeat PING now, unless the close frame was sent or is next. On the channel's
     * event loop only (the heartbeat is one of its scheduled tasks).
     */
    public void ping() {
        if (!closing && !stopped && channel.isActive()) {
            channel.writeAndFlush(new PingWebSocketFrame(), channel.voidPromise());
        }
    }

    private void lastDrain() {
        drain();
        stopped = true;
    }

    private void execute(Runnable task) {
        try {
            channel.eventLoop().execute(task);
        } catch (RejectedExecutionException e) {
            closing = true; // the event loop is shutting down: so is the connection
            stopped = true;
        }
    }

    @Override
    public void run() {
        scheduled = 0;
        drain();
    }

    private void urgentDrain() {
        urgent = 0;
        drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        if (ctx.channel().isWritable()) {
            drain();
        }
        super.channelWritabilityChanged(ctx);
    }

    private void drain() {
        if (stopped || !channel.isActive()) {
            return;
        }
        boolean wrote = false;
        while (true) {
            if (!channel.isWritable()) {
                park();
                break;
            }
            Outbound item = outbox.poll();
            if (item == null) {
                break;
            }
            channel.write(message(item), channel.voidPromise());
            wrote = true;
        }
        if (wrote) {
            channel.flush();
        }
    }

    /**
     * The channel takes no more now: an empty write completes once everything before it went
     * to the socket, and then the drain goes on. (Writability events resume it earlier where the
     * pipeline passes them on; this does not depend on it.)
     */
    private void park() {
        if (parked || outbox.size() == 0) {
            return;
        }
        parked = true;
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(done -> {
            parked = false;
            if (done.isSuccess()) {
                drain();
            }
        });
    }

    private Object message(Outbound item) {
        if (item instanceof SharedBatch batch) {
            ByteBuf frame = batch.frame(codec);
            listener.written(item, batch.bytes(codec).length);
            int extension = extension();
            if (extension == NONE) { // the whole frame, as it is: the WebSocket encoder lets ByteBufs through
                return frame.retainedDuplicate();
            }
            if (extension == DEFLATE) { // compressed once for every viewer; the extension lets ByteBufs through too
                return batch.deflatedFrame(codec).retainedDuplicate();
            }
            // another extension: a frame object, for it to encode
            int offset = SharedBatch.payloadOffset(batch.bytes(codec).length);
            return wrap(frame.retainedSlice(offset, frame.readableBytes() - offset));
        }
        byte[] bytes = codec.encode(((Outbound.Frame) item).frame());
        listener.written(item, bytes.length);
        return wrap(Unpooled.wrappedBuffer(bytes));
    }

    private WebSocketFrame wrap(ByteBuf payload) {
        return codec.binary() ? new BinaryWebSocketFrame(payload) : new TextWebSocketFrame(payload);
    }

    /**
     * Which WebSocket extension encodes frames, known at the first write: none, permessage-deflate
     * (always without server context takeover: {@code WebSocketRoute} negotiates it no other way),
     * or another.
     */
    private int extension() {
        if (extension < 0) {
            WebSocketExtensionEncoder encoder = channel.pipeline().get(WebSocketExtensionEncoder.class);
            // Netty's permessage-deflate encoder is not public: known by its name
            extension = encoder == null ? NONE
                    : encoder.getClass().getName().equals(PERMESSAGE_DEFLATE_ENCODER) ? DEFLATE : OTHER;
        }
        return extension;
    }
}
