package dev.danmaku.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The benchmark's WebSocket client: every viewer and sender connection on ONE Netty event loop
 * thread (epoll). Viewers count the comment ids of each frame by a byte scan for the marker
 * {@code "fbq<digits>}: a frame equal (byte for byte, compared) to one already scanned reuses
 * that scan, so the many copies of a room's batch cost a comparison each, not a parse. Each
 * viewer marks the ids it got in a bit set, so every (comment, viewer) delivery is checked
 * exactly: missing ones are lost, repeated ones duplicates. Latency is receive time minus the
 * comment's send time, both {@link System#nanoTime()} of this process, in an HdrHistogram.
 *
 * <p>All mutable state is touched on the loop thread only; the main thread reads the volatile
 * counters, or asks the loop ({@link #onLoop}).
 */
final class BenchClient implements AutoCloseable {

    static final String ID_PREFIX = "fbq";
    private static final byte[] JOINED = "{\"type\":\"joined\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BATCH = "{\"type\":\"batch\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ACK = "{\"type\":\"ack\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ERROR = "{\"type\":\"error\"".getBytes(StandardCharsets.US_ASCII);
    private static final long MAX_LATENCY_MICROS = TimeUnit.MINUTES.toMicros(10);
    /** {@link WebSocketFrame#rsv()}'s bit for RSV1: compressed with permessage-deflate. */
    private static final int RSV1 = 0x4;

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
    private final EventLoop loop = group.next();
    private final Thread loopThread;
    private final String host;
    private final int port;
    /**
     * To a loopback server, connections come from 127.0.0.1-127.0.0.64 in turn, each picking its
     * port at connect ({@code IP_BIND_ADDRESS_NO_PORT}): from one address, the kernel's search
     * for a free source port ({@code __inet_hash_connect}, {@code __inet_check_established})
     * grows with the connections already open to the same server, and took 17 % of this loop
     * while 19,000 connected (async-profiler).
     */
    private static final int SOURCE_ADDRESSES = 64;
    private final boolean loopback;
    /** Senders connect from the caller's thread, viewers on the loop: the one counter both touch. */
    private final AtomicInteger nextSource = new AtomicInteger();

    // ---- loop-thread state ----
    private final List<Viewer> viewers = new ArrayList<>();
    private final List<Channel> senders = new ArrayList<>();
    private final FrameCache cache = new FrameCache(64);
    /** Compressed frames, by their compressed bytes (the same content: no server context takeover). */
    private final FrameCache deflatedCache = new FrameCache(64);
    private final Inflater inflater = new Inflater(true);
    private final Histogram latency = new Histogram(MAX_LATENCY_MICROS, 3);
    /** Indexed by {@link #measured}: the warm-up's latencies, then the measured ones. */
    private final Histogram[] latencies = {new Histogram(MAX_LATENCY_MICROS, 3), latency};
    /** The same latencies by the second (since sending started) the comment was sent in: where a tail comes from. */
    private final List<Histogram> latencyBySecond = new ArrayList<>();
    /** Send → ack of each measured comment: the gateway's inbound path and the produce to Kafka. */
    private final Histogram ackLatency = new Histogram(MAX_LATENCY_MICROS, 3);
    private final Histogram[] ackLatencies = {new Histogram(MAX_LATENCY_MICROS, 3), ackLatency};
    private long[] sentAt = new long[0];
    /** Ids the gateway acknowledged (stored by the broker) and refused (an error frame). */
    private BitSet acked = new BitSet();
    private BitSet refused = new BitSet();
    private int total;
    private int measureFrom;
    private int measureTo;
    private int next;
    private long sendStart;
    private double rate;
    /**
     * Seconds over which the rate rises from 0 at the start. At full rate from the first second,
     * the client, its JIT still cold, fell behind 10,000 viewers: their receive queues filled
     * (128 KiB each, 1.2 GB in all), the host's TCP went under memory pressure and dropped segments,
     * and some viewers stalled for tens of seconds on retransmission timeouts (runs 83 and 88-90).
     */
    private double ramp;
    private @Nullable ScheduledFuture<?> sendTask;
    private long duplicates;
    private long unknown;
    private long sendFailures;
    private long frames;

    // ---- counters read by the main thread ----
    volatile long deliveries;
    volatile int ready;
    volatile int failed;
    volatile int viewersClosed;
    /** Viewers whose handshake negotiated permessage-deflate. */
    volatile int viewersDeflated;
    volatile int acks;
    volatile int senderErrors;
    volatile boolean batchSeen;
    volatile @Nullable String firstSenderError;

    /** Whether viewers offer permessage-deflate as browsers do ({@code client_max_window_bits}); senders never do. */
    private final boolean deflate;

    /** Each socket's {@code SO_RCVBUF}; 0: the kernel's autotuning. */
    private final int receiveBuffer;

    /**
     * @param receiveBuffer each socket's {@code SO_RCVBUF}; 0 (the default) leaves it to the
     *                      kernel. On loopback the client's receive buffers count against the same
     *                      host's {@code tcp_mem} as the server's send buffers, which a remote
     *                      viewer's would not; but a small one made things worse (run 84, 32 KiB:
     *                      the gateway 59 s behind at 0.29 of its core, 308 retransmission
     *                      timeouts), likely because loopback's MSS is about 64 KB and a receiver
     *                      with less room than one segment offers a zero window (not proven)
     */
    BenchClient(String host, int port, boolean deflate, int receiveBuffer) throws InterruptedException, ExecutionException {
        this.host = host;
        this.port = port;
        this.deflate = deflate;
        this.receiveBuffer = receiveBuffer;
        this.loopback = host.startsWith("127.");
        this.loopThread = loop.submit(Thread::currentThread).get();
    }

    /** The event loop thread's CPU time so far, in nanoseconds. */
    long loopCpuNanos() {
        return ManagementFactory.getThreadMXBean().getThreadCpuTime(loopThread.getId());
    }

    /** Runs on the loop thread and waits for the answer. */
    <T> T onLoop(Callable<T> task) {
        try {
            return loop.submit(task).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Sets the comments this run will send: ids {@code 0..total-1}; latency is recorded for ids in
     * {@code [measureFrom, measureTo)}. Call before connecting viewers.
     */
    void plan(int total, int measureFrom, int measureTo) {
        onLoop(() -> {
            this.total = total;
            this.measureFrom = measureFrom;
            this.measureTo = measureTo;
            this.sentAt = new long[total];
            this.acked = new BitSet(total);
            this.refused = new BitSet(total);
            return null;
        });
    }

    /**
     * Connects {@code count} viewers to {@code path}, at most {@code inFlight} handshakes at once.
     * A viewer is ready when it got {@code joined} ({@code awaitJoined}) or when its handshake
     * completed. Completes with the nanoseconds from the first connect to the last viewer ready
     * (or failed).
     */
    CompletableFuture<Long> connectViewers(int count, String path, @Nullable String subprotocol, boolean awaitJoined,
                                           int inFlight) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        URI uri = URI.create("ws://" + host + ":" + port + path);
        loop.execute(() -> new Connector(count, inFlight, done, uri, subprotocol, awaitJoined).start());
        return done;
    }

    /** Connects one sender per URI (each with its own token in the query). */
    CompletableFuture<Void> connectSenders(List<String> paths, @Nullable String subprotocol) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (String path : paths) {
            CompletableFuture<Void> handshake = new CompletableFuture<>();
            all.add(handshake);
            URI uri = URI.create("ws://" + host + ":" + port + path);
            ChannelFuture connect = connect(uri, subprotocol, new SenderHandler(handshake), false);
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    handshake.completeExceptionally(f.cause());
                } else {
                    loop.execute(() -> senders.add(connect.channel()));
                }
            });
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    /** Sends one comment with an id outside the counted range from the last sender (a readiness probe). */
    void probe(String room, int n) {
        loop.execute(() -> {
            Channel sender = senders.get(senders.size() - 1);
            sender.writeAndFlush(comment(sender, room, "probe" + n), sender.voidPromise());
        });
    }

    /** Starts sending ids {@code 0..total-1} at {@code rate} per second (rising to it over {@code rampSeconds}), round robin over the senders but the last. */
    void startSending(String room, double rate, double rampSeconds, int senderCount) {
        loop.execute(() -> {
            this.rate = rate;
            this.ramp = rampSeconds;
            this.sendStart = System.nanoTime();
            this.sendTask = loop.scheduleAtFixedRate(() -> sendDue(room, senderCount), 0, 1, TimeUnit.MILLISECONDS);
        });
    }

    boolean sendingDone() {
        return onLoop(() -> next >= total);
    }

    /** Σ over viewers of the ids each got; the histogram copy; duplicates; unknown ids; send failures. */
    Totals totals() {
        return onLoop(() -> {
            long received = 0;
            long lostAcked = 0;
            for (Viewer viewer : viewers) {
                received += viewer.received.cardinality();
                BitSet missing = (BitSet) acked.clone();
                missing.andNot(viewer.received);
                lostAcked += missing.cardinality();
            }
            List<Histogram> bySecond = new ArrayList<>();
            latencyBySecond.forEach(h -> bySecond.add(h.copy()));
            return new Totals(received, frames, lostAcked, acked.cardinality(), refused.cardinality(), latency.copy(), ackLatency.copy(),
                    bySecond, duplicates, unknown, sendFailures, viewers.size());
        });
    }

    /**
     * @param frames    frames received that carried comment ids
     * @param lostAcked Σ over viewers of the acknowledged ids it did not get: what the service lost
     * @param latencyBySecond every comment's latency (the warm-up's too), by the second since sending started that it was sent in
     */
    record Totals(long received, long frames, long lostAcked, int acked, int refused, Histogram latency, Histogram ackLatency,
                  List<Histogram> latencyBySecond, long duplicates, long unknown, long sendFailures,
                  int viewers) {
    }

    /** Closes the viewers from the {@code from}th one on (in the order they connected) and waits for them to be gone (or 20 s). */
    void closeViewersFrom(int from) throws InterruptedException {
        List<Channel> channels = onLoop(() -> {
            List<Channel> some = new ArrayList<>();
            viewers.subList(Math.min(from, viewers.size()), viewers.size()).forEach(v -> some.add(v.channel));
            return some;
        });
        closeAndAwait(channels);
    }

    /** Closes every connection and waits for them to be gone (or 20 s). */
    void closeAll() throws InterruptedException {
        List<Channel> channels = onLoop(() -> {
            List<Channel> all = new ArrayList<>(senders);
            viewers.forEach(v -> all.add(v.channel));
            return all;
        });
        closeAndAwait(channels);
    }

    private static void closeAndAwait(List<Channel> channels) throws InterruptedException {
        for (Channel channel : channels) {
            channel.close();
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        for (Channel channel : channels) {
            channel.closeFuture().await(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ---- loop thread ----

    /** 1 if {@code id} is in {@code [measureFrom, measureTo)}, else 0: without a branch. */
    private int measured(int id) {
        return (int) ((((long) measureFrom - 1 - id) >>> 63) & (((long) id - measureTo) >>> 63));
    }

    private Histogram bySecond(long sentNanos) {
        int second = (int) Math.max(0, (sentNanos - sendStart) / 1_000_000_000L);
        while (latencyBySecond.size() <= second) {
            latencyBySecond.add(new Histogram(MAX_LATENCY_MICROS, 2));
        }
        return latencyBySecond.get(second);
    }

    private void sendDue(String room, int senderCount) {
        double seconds = (System.nanoTime() - sendStart) / 1e9;
        // the rate rises linearly over the ramp, then stays: ids sent by then are rate × (t − ramp / 2)
        double sent = seconds < ramp ? rate * seconds * seconds / (2 * ramp) : rate * (seconds - ramp / 2);
        int due = (int) Math.min(total, (long) sent + 1);
        while (next < due) {
            int seq = next++;
            Channel sender = senders.get(seq % senderCount);
            sentAt[seq] = System.nanoTime();
            if (!sender.isActive()) {
                sendFailures++;
                continue;
            }
            sender.writeAndFlush(comment(sender, room, ID_PREFIX + seq), sender.voidPromise());
        }
        if (next >= total && sendTask != null) {
            sendTask.cancel(false);
        }
    }

    private static TextWebSocketFrame comment(Channel sender, String room, String id) {
        ByteBuf buf = sender.alloc().buffer(128);
        buf.writeCharSequence("{\"type\":\"comment\",\"room\":\"", StandardCharsets.US_ASCII);
        buf.writeCharSequence(room, StandardCharsets.US_ASCII);
        buf.writeCharSequence("\",\"id\":\"", StandardCharsets.US_ASCII);
        buf.writeCharSequence(id, StandardCharsets.US_ASCII);
        buf.writeCharSequence("\",\"text\":\"m", StandardCharsets.US_ASCII);
        buf.writeCharSequence(id, StandardCharsets.US_ASCII);
        buf.writeCharSequence(" from the fan-out bench\"}", StandardCharsets.US_ASCII);
        return new TextWebSocketFrame(buf);
    }

    private ChannelFuture connect(URI uri, @Nullable String subprotocol, ChannelInboundHandlerAdapter handler,
                                  boolean offerDeflate) {
        WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
                .webSocketUri(uri)
                .subprotocol(subprotocol)
                .customHeaders(offerDeflate ? new DefaultHttpHeaders().add(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS,
                        "permessage-deflate; client_max_window_bits") : null)
                .allowExtensions(offerDeflate)
                .maxFramePayloadLength(1 << 20)
                .handshakeTimeoutMillis(60_000)
                .absoluteUpgradeUrl(false)
                // Netty's UTF-8 check of every text frame took 60 % of this loop at 2,000 viewers
                // (async-profiler): the client was the bottleneck. The ids are ASCII and found by
                // a byte scan; a malformed frame would show as unknown ids or lost deliveries.
                .withUTF8Validator(false)
                .build();
        Bootstrap bootstrap = new Bootstrap();
        if (receiveBuffer > 0) { // before connecting, so that the window is offered from the SYN on
            bootstrap.option(ChannelOption.SO_RCVBUF, receiveBuffer);
        }
        return bootstrap
                .group(loop)
                .channel(EpollSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                // Netty 4.2's default adaptive allocator took a fresh, zeroed direct chunk for the
                // decoder's cumulation of ~20 KB batch frames again and again (page faults and
                // clear_page: 28 % of this loop at 10,000 viewers, async-profiler); the pooled
                // arenas reuse their chunks
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 60_000)
                .option(EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, loopback)
                .localAddress(loopback ? new InetSocketAddress("127.0.0." + (1 + nextSource.getAndIncrement() % SOURCE_ADDRESSES), 0) : null)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(16384));
                        if (handler instanceof Viewer viewer && offerDeflate) {
                            ch.pipeline().addLast(new Negotiated(viewer));
                        }
                        ch.pipeline().addLast(new WebSocketClientProtocolHandler(config), handler);
                    }
                })
                .connect(host, port);
    }

    /** Opens viewers, keeping {@code inFlight} handshakes under way. */
    private final class Connector {
        private final int count;
        private final int inFlight;
        private final CompletableFuture<Long> done;
        private final URI uri;
        private final @Nullable String subprotocol;
        private final boolean awaitJoined;
        private int started;
        private int finished;
        private long startNanos;

        Connector(int count, int inFlight, CompletableFuture<Long> done, URI uri, @Nullable String subprotocol,
                  boolean awaitJoined) {
            this.count = count;
            this.inFlight = inFlight;
            this.done = done;
            this.uri = uri;
            this.subprotocol = subprotocol;
            this.awaitJoined = awaitJoined;
        }

        void start() {
            startNanos = System.nanoTime();
            if (count == 0) {
                done.complete(0L);
                return;
            }
            while (started < count && started - finished < inFlight) {
                startOne();
            }
        }

        private void startOne() {
            started++;
            Viewer viewer = new Viewer(total, awaitJoined, this::finishedOne);
            ChannelFuture connect = connect(uri, subprotocol, viewer, deflate);
            viewer.channel = connect.channel();
            viewers.add(viewer);
            connect.addListener(f -> {
                if (!f.isSuccess()) {
                    viewer.fail();
                }
            });
        }

        private void finishedOne(boolean ok) {
            finished++;
            if (ok) {
                ready++;
            } else {
                failed++;
            }
            if (finished == count) {
                done.complete(System.nanoTime() - startNanos);
            } else if (started < count) {
                startOne();
            }
        }
    }

    /** A viewer connection: its handler and the ids it got. */
    private final class Viewer extends ChannelInboundHandlerAdapter {
        final BitSet received;
        final boolean awaitJoined;
        final Consumer<Boolean> onReady;
        Channel channel; // set right after construction, before any event
        boolean settled;
        /** The handshake negotiated permessage-deflate (without server context takeover). */
        boolean deflated;

        Viewer(int total, boolean awaitJoined, Consumer<Boolean> onReady) {
            this.received = new BitSet(total);
            this.awaitJoined = awaitJoined;
            this.onReady = onReady;
        }

        void fail() {
            if (!settled) {
                settled = true;
                onReady.accept(false);
            }
        }

        void ok() {
            if (!settled) {
                settled = true;
                onReady.accept(true);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE && !awaitJoined) {
                ok();
            } else if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
                fail();
            }
            super.userEventTriggered(ctx, event);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof CloseWebSocketFrame) {
                    return;
                }
                if (msg instanceof WebSocketFrame frame) {
                    onFrame(frame);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void onFrame(WebSocketFrame frame) {
            long now = System.nanoTime();
            ByteBuf content = frame.content();
            boolean compressed = (frame.rsv() & RSV1) != 0;
            if (compressed && !deflated) {
                throw new IllegalStateException("a compressed frame without permessage-deflate negotiated");
            }
            FrameCache frameCache = compressed ? deflatedCache : cache;
            int[] ids = frameCache.find(content);
            if (ids == null) {
                ByteBuf plain = compressed ? inflate(content) : content;
                boolean batch;
                try {
                    if (!settled && startsWith(plain, JOINED)) {
                        ok();
                        return;
                    }
                    ids = scan(plain);
                    batch = startsWith(plain, BATCH);
                } finally {
                    if (plain != content) {
                        plain.release();
                    }
                }
                if (ids.length == 0) {
                    batchSeen |= batch;
                    return;
                }
                frameCache.put(content, ids); // the bytes as they came: compressed ones by their compressed bytes
                batchSeen = true;
            }
            int got = 0;
            frames++;
            for (int id : ids) {
                if (id < 0 || id >= total) {
                    unknown++;
                    continue;
                }
                if (received.get(id)) {
                    duplicates++;
                    continue;
                }
                received.set(id);
                got++;
                // every comment's latency is recorded, the warm-up's in a histogram of its own: a
                // branch first taken when the measured ids arrive made the JIT deoptimize this
                // loop then, and the client fell behind in the measured window's first second
                long micros = Math.min(MAX_LATENCY_MICROS, Math.max(0, now - sentAt[id]) / 1000);
                latencies[measured(id)].recordValue(micros);
                bySecond(sentAt[id]).recordValue(micros);
            }
            deliveries += got; // one writer: the loop thread
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            if (settled) {
                viewersClosed++;
            }
            fail();
            super.channelInactive(ctx);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail();
            ctx.close();
        }
    }

    /** A sender: counts its acks and errors. */
    private final class SenderHandler extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Void> handshake;

        SenderHandler(CompletableFuture<Void> handshake) {
            this.handshake = handshake;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                handshake.complete(null);
            } else if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_TIMEOUT) {
                handshake.completeExceptionally(new IllegalStateException("sender handshake timed out"));
            }
            super.userEventTriggered(ctx, event);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof TextWebSocketFrame frame) {
                    ByteBuf content = frame.content();
                    if (startsWith(content, ACK)) {
                        acks++;
                        long now = System.nanoTime();
                        for (int id : scan(content)) {
                            if (id >= 0 && id < total) {
                                acked.set(id);
                                ackLatencies[measured(id)].recordValue(
                                        Math.min(MAX_LATENCY_MICROS, Math.max(0, now - sentAt[id]) / 1000));
                            }
                        }
                    } else if (startsWith(content, ERROR)) {
                        senderErrors++;
                        mark(refused, content);
                        if (firstSenderError == null) {
                            firstSenderError = content.toString(StandardCharsets.UTF_8);
                        }
                    }
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            handshake.completeExceptionally(cause);
            ctx.close();
        }
    }

    /**
     * A message of its own (the server takes no context over): its raw DEFLATE with the
     * {@code 00 00 ff ff} that permessage-deflate leaves off put back. Only for frames not seen before.
     */
    private ByteBuf inflate(ByteBuf compressed) {
        int length = compressed.readableBytes();
        byte[] input = new byte[length + 4];
        compressed.getBytes(compressed.readerIndex(), input, 0, length);
        input[length + 2] = (byte) 0xff;
        input[length + 3] = (byte) 0xff;
        inflater.reset();
        inflater.setInput(input);
        ByteBuf out = Unpooled.buffer(Math.max(256, length * 4));
        try {
            int n;
            do {
                out.ensureWritable(4096);
                n = inflater.inflate(out.array(), out.arrayOffset() + out.writerIndex(), out.writableBytes());
                out.writerIndex(out.writerIndex() + n);
            } while (n > 0 || !inflater.needsInput());
        } catch (DataFormatException e) {
            throw new IllegalStateException("a compressed frame does not inflate on its own", e);
        }
        return out;
    }

    /**
     * Reads the handshake's answer before Netty's handshaker does: whether permessage-deflate was
     * negotiated, and then that it is without server context takeover (else a frame could need
     * the ones before it, and the client inflates each on its own).
     */
    private final class Negotiated extends ChannelInboundHandlerAdapter {
        private final Viewer viewer;

        Negotiated(Viewer viewer) {
            this.viewer = viewer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof FullHttpResponse response) {
                String extensions = response.headers().get(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, "");
                viewer.deflated = extensions.contains("permessage-deflate");
                if (viewer.deflated) {
                    if (!extensions.contains("server_no_context_takeover")) {
                        ReferenceCountUtil.release(msg);
                        throw new IllegalStateException("permessage-deflate with server context takeover: " + extensions);
                    }
                    viewersDeflated++;
                }
                ctx.pipeline().remove(this);
            }
            super.channelRead(ctx, msg);
        }
    }

    private void mark(BitSet ids, ByteBuf content) {
        for (int id : scan(content)) {
            if (id >= 0 && id < total) {
                ids.set(id);
            }
        }
    }

    private static boolean startsWith(ByteBuf content, byte[] prefix) {
        if (content.readableBytes() < prefix.length) {
            return false;
        }
        int start = content.readerIndex();
        for (int i = 0; i < prefix.length; i++) {
            if (content.getByte(start + i) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    /** The ids of {@code "fbq<digits>} occurrences in the frame. */
    static int[] scan(ByteBuf content) {
        int[] ids = new int[16];
        int n = 0;
        int end = content.writerIndex();
        for (int i = content.readerIndex(); i + 4 < end; i++) {
            if (content.getByte(i) != '"' || content.getByte(i + 1) != 'f' || content.getByte(i + 2) != 'b'
                    || content.getByte(i + 3) != 'q') {
                continue;
            }
            int j = i + 4;
            long value = 0;
            int digits = 0;
            while (j < end) {
                byte b = content.getByte(j);
                if (b < '0' || b > '9') {
                    break;
                }
                value = value * 10 + (b - '0');
                digits++;
                j++;
            }
            if (digits > 0 && digits < 10) {
                if (n == ids.length) {
                    ids = Arrays.copyOf(ids, n * 2);
                }
                ids[n++] = (int) value;
            }
            i = j - 1;
        }
        return Arrays.copyOf(ids, n);
    }

    /**
     * The last frames scanned, to recognise copies of the same batch by comparing their bytes.
     * Both sides are direct {@link ByteBuffer}s, so the comparison is the JDK's vectorized
     * mismatch: Netty's {@code ByteBufUtil.equals} against a heap copy compared 8 bytes a step
     * and took 37 % of this loop at 10,000 viewers (async-profiler).
     */
    private static final class FrameCache {
        private final ByteBuffer[] frames;
        private final int[][] ids;
        private int nextSlot;

        FrameCache(int size) {
            this.frames = new ByteBuffer[size];
            this.ids = new int[size][];
        }

        int @Nullable [] find(ByteBuf content) {
            int length = content.readableBytes();
            ByteBuffer bytes = null;
            for (int k = 0; k < frames.length; k++) {
                int slot = Math.floorMod(nextSlot - 1 - k, frames.length);
                ByteBuffer frame = frames[slot];
                if (frame == null) {
                    return null;
                }
                if (frame.remaining() == length) {
                    if (bytes == null) {
                        bytes = content.nioBuffer(); // a view of a direct buffer; a copy only if composite
                    }
                    if (frame.equals(bytes)) {
                        return ids[slot];
                    }
                }
            }
            return null;
        }

        void put(ByteBuf content, int[] found) {
            ByteBuffer copy = ByteBuffer.allocateDirect(content.readableBytes());
            content.getBytes(content.readerIndex(), copy);
            copy.flip();
            frames[nextSlot] = copy;
            ids[nextSlot] = found;
            nextSlot = (nextSlot + 1) % frames.length;
        }
    }
}
