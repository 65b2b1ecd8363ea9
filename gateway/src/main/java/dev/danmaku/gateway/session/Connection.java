package dev.danmaku.gateway.session;

import dev.danmaku.gateway.LogKeys;
import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.fanout.ChannelWriter;
import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.fanout.Outbox;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.gateway.room.RoomViewer;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.netty.NettyPipeline;

/**
 * One viewer's WebSocket connection, from {@code welcome} to close: it owns the connection's
 * state (user, joined rooms), its bounded outbound queue, its send rate limits and its close.
 *
 * <p>It is a handler in its channel's pipeline, after the WebSocket decoder (and the
 * permessage-deflate decoder and the frame aggregator): frames are read and handled on the
 * channel's event loop, without a Reactor operator per connection or per frame. Sends and joins
 * complete asynchronously; while {@code maxInFlight} of them are pending the channel stops reading
 * (Netty's back pressure: {@code autoRead} off) and reads again as they complete. A
 * {@link ChannelWriter} writes the outbound queue straight to the channel, and the heartbeat is a
 * task scheduled on the channel's event loop, which has the writer write each PING. Anything may
 * queue frames ({@link #deliver}): the event loop, the room feed's thread, the producer's thread.
 * The queue is an {@link Outbox}: a viewer that reads too slowly is first sent fewer comment
 * batches, then closed with 1013 when it lags for longer than {@code maxLag} or overflows even
 * the headroom for its own frames.
 *
 * <p>{@link #close} is idempotent: the first code wins; the close frame is written after what is
 * queued, then the socket is closed, or dropped when the close frame does not get out within
 * {@link #CLOSE_GRACE}. A close frame from the peer is answered with its own code. The connection
 * ends when its channel does: it leaves its rooms, cancels what is pending, and tells its
 * {@link Ends} the code of the first close frame (1006 when there was none).
 */
public final class Connection extends ChannelInboundHandlerAdapter implements RoomViewer {

    private static final Logger log = LoggerFactory.getLogger(Connection.class);

    /** How long a close frame may take to get out before the socket is dropped. */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(2);
    /** The code of a connection that ended without a close frame either way. */
    static final int ABNORMAL = WebSocketCloseStatus.ABNORMAL_CLOSURE.code();
    private static final String NAME = "danmaku.connection";

    /** Hears a connection end, on its event loop. */
    public interface Ends {
        /** {@code connection} ended; {@code closeCode} is the first close frame's (ours or the peer's), or 1006. */
        void ended(Connection connection, int closeCode);
    }

    private final String id;
    private final Channel channel;
    private final FrameCodec codec;
    private final @Nullable Identity identity;
    private final User user;
    private final ConnectionServices services;
    private final ConnectionSettings settings;
    /** Made at the first send (most viewers never send): only on the inbound path, one frame at a time. */
    private @Nullable SendLimiter limiter;
    private final Outbox outbound;
    private final OutboundStats stats;
    private final GatewayMetrics.Writer written;
    private final ConnectionCap.@Nullable Ticket ticket;
    private final Ends ends;
    private static final AtomicIntegerFieldUpdater<Connection> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(Connection.class, "closed");
    /**
     * 1 once closing. An int field, not an {@code AtomicBoolean}: the room feed reads it for every
     * viewer of every batch, and an object of its own was one more cache miss each time.
     */
    private volatile int closed;
    /** Few, rarely changed (at most the room limit): a copy-on-write array is the lightest set. */
    private final Set<String> rooms = new java.util.concurrent.CopyOnWriteArraySet<>();
    private @Nullable ChannelWriter writer;
    private @Nullable ScheduledFuture<?> heartbeat;
    private @Nullable ScheduledFuture<?> closeDeadline;
    /** Sends and joins not complete yet, and what cancels them at the end (made at the first). Event loop only. */
    private int inFlight;
    private Disposable.@Nullable Composite pending;
    /** The first close frame's code, ours or the peer's; 0 while none (event loop only). */
    private int closeCode;
    private boolean ended;
    // event loop only:
    private long lastInbound;
    private long lastPing;
    /** Sends answered rate_limited in the current abuse window (event loop only). */
    private int rateLimited;
    private long abuseWindowStart;

    /**
     * @param ticket the per-IP ticket, given back when the connection ends
     * @param ends   hears the connection end
     */
    Connection(String id, Channel channel, FrameCodec codec, @Nullable Identity identity,
               ConnectionServices services, OutboundStats stats, ConnectionCap.@Nullable Ticket ticket, Ends ends) {
        this.id = id;
        this.channel = channel;
        this.codec = codec;
        this.identity = identity;
        this.user = identity != null ? identity.user() : new User("anon-" + id, "anonymous", Role.VIEWER);
        this.services = services;
        this.settings = services.settings();
        this.stats = stats;
        this.ticket = ticket;
        this.ends = ends;
        this.outbound = new Outbox(settings.queueCapacity(), settings.queueHeadroom(), System::nanoTime, stats);
        this.written = services.metrics().writer(codec);
    }

    public String id() {
        return id;
    }

    public User user() {
        return user;
    }

    /**
     * Puts the connection in its channel's pipeline and starts it: {@code welcome}, the heartbeat,
     * then the optional join of {@code room} (the {@code ?room=&since=} shorthand). On the channel's
     * event loop, once the WebSocket handshake is done.
     */
    void start(@Nullable String room, @Nullable String since) {
        lastInbound = System.nanoTime();
        lastPing = lastInbound;
        debug().addKeyValue(LogKeys.USER, user.id())
                .log("Connection {} opened ({}, user {})", id, codec.subprotocol(), user.id());
        if (channel.pipeline().get(NettyPipeline.ReactiveBridge) != null) { // Reactor Netty's last handler drops frames
            channel.pipeline().addBefore(NettyPipeline.ReactiveBridge, NAME, this);
        } else {
            channel.pipeline().addLast(NAME, this);
        }
        ChannelWriter made = ChannelWriter.attach(channel, outbound, codec, written::written);
        writer = made;
        if (!channel.isActive()) { // gone during the handshake: its channelInactive has passed
            end();
            return;
        }
        send(new ServerFrame.Welcome(id, user,
                new ServerFrame.Heartbeat(settings.heartbeatInterval().toMillis(), settings.heartbeatTimeout().toMillis()),
                ServerFrame.ClientLimits.of(settings.limits())));
        // PINGs are written by the writer, with no Reactor stream per connection (Netty's timer queue per loop)
        long tick = settings.heartbeatTick().toNanos();
        heartbeat = channel.eventLoop().scheduleAtFixedRate(() -> beatOnLoop(made), tick, tick, TimeUnit.NANOSECONDS);
        if (room != null) {
            run(initialJoin(room, since));
        }
    }

    /**
     * Closes the connection with this code (once: later calls do nothing). From any thread; does
     * not block. Not under a room's lock from the event loop ({@link #deliver} closes through a task).
     */
    public void close(CloseCode code) {
        if (CLOSED.compareAndSet(this, 0, 1)) {
            debug().addKeyValue(LogKeys.CODE, code.code()).log("Connection {} closing with {}", id, code.code());
            if (channel.eventLoop().inEventLoop()) {
                sendClose(code);
            } else {
                execute(() -> sendClose(code));
            }
        }
    }

    private SendLimiter limiter() {
        SendLimiter made = limiter;
        if (made == null) {
            made = new SendLimiter(settings, services.timeMeter());
            limiter = made;
        }
        return made;
    }

    /** The socket's Netty channel. */
    Channel channel() {
        return channel;
    }

    /** Frames waiting in this connection's outbound queue now (not yet handed to Netty). */
    public int queuedFrames() {
        return outbound.size();
    }

    /** True once {@link #close} was called (the socket may still be closing). */
    public boolean isClosed() {
        return closed != 0;
    }

    @Override
    public boolean deliver(Outbound item) {
        if (closed != 0) {
            return false;
        }
        Outbox.Result result = outbound.offer(item); // never blocks
        if (result == Outbox.Result.OVERFLOW) {
            debug().log("Connection {}: outbound queue full, closing", id);
            closeSlow();
            return false;
        }
        if (result == Outbox.Result.SKIPPED && outbound.lagging(System.nanoTime()) > settings.maxLag().toNanos()) {
            debug().log("Connection {}: lagging for over {}, closing", id, settings.maxLag());
            closeSlow();
        }
        return true;
    }

    /** Closes 1013 through a task of the event loop: the caller may hold a room's lock. */
    private void closeSlow() {
        if (CLOSED.compareAndSet(this, 0, 1)) {
            debug().addKeyValue(LogKeys.CODE, CloseCode.TRY_AGAIN_LATER.code())
                    .log("Connection {} closing with {}: reads too slowly", id, CloseCode.TRY_AGAIN_LATER.code());
            stats.slowClosed();
            execute(() -> sendClose(CloseCode.TRY_AGAIN_LATER));
        }
    }

    /** On the event loop: what is queued, then the close frame, then the socket closes. */
    private void sendClose(CloseCode code) {
        if (closeCode != 0 || !channel.isActive()) {
            return; // the peer closed first, or the socket is gone
        }
        closeCode = code.code();
        if (writer != null) {
            writer.stop(); // what is queued goes first; nothing after the close frame
        }
        channel.writeAndFlush(new CloseWebSocketFrame(code.code(), code.reason()))
                .addListener(ChannelFutureListener.CLOSE);
        // a peer that does not read never lets the close frame through: drop the socket
        closeDeadline = channel.eventLoop().schedule(this::abort, CLOSE_GRACE.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Drops the socket without a close handshake (the peer did not take the close frame). */
    private void abort() {
        if (channel.isOpen()) {
            debug().log("Connection {}: close frame not taken within {}, dropping the socket", id, CLOSE_GRACE);
            channel.close();
        }
    }

    private void execute(Runnable task) {
        try {
            channel.eventLoop().execute(task);
        } catch (RejectedExecutionException e) {
            channel.close(); // the event loop is shutting down
        }
    }

    // ---- inbound (the channel's event loop) ----

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame) {
                onMessage(((WebSocketFrame) msg).content());
            } else if (msg instanceof PingWebSocketFrame ping) {
                lastInbound = System.nanoTime();
                if (closed == 0) {
                    ctx.writeAndFlush(new PongWebSocketFrame(ping.content().retain()), ctx.voidPromise());
                }
            } else if (msg instanceof PongWebSocketFrame) {
                lastInbound = System.nanoTime(); // a sign of life
            } else if (msg instanceof CloseWebSocketFrame peerClose) {
                peerClosed(peerClose.statusCode());
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        close(closeCodeFor(cause)); // not passed on: this is the last word on this connection's errors
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        end();
        super.channelInactive(ctx);
    }

    /** The peer sent a close frame: answered with its code (none: 1000), then the socket closes. */
    private void peerClosed(int code) {
        closed = 1;
        if (closeCode != 0) { // ours went first: this is the answer
            channel.close();
            return;
        }
        closeCode = code < 0 ? WebSocketCloseStatus.EMPTY.code() : code;
        debug().addKeyValue(LogKeys.CODE, closeCode).log("Connection {} closing with {}, as the peer did", id, closeCode);
        if (writer != null) {
            writer.stop();
        }
        CloseWebSocketFrame answer = code < 0 ? new CloseWebSocketFrame() : new CloseWebSocketFrame(code, null);
        channel.writeAndFlush(answer).addListener(ChannelFutureListener.CLOSE);
    }

    private void onMessage(ByteBuf payload) {
        lastInbound = System.nanoTime();
        if (closed != 0) {
            return; // closing: nothing more is answered
        }
        int size = payload.readableBytes();
        if (size > settings.limits().maxFrameBytes()) {
            // Netty enforces the limit on the wire; this catches frames that grew when inflated
            close(CloseCode.MESSAGE_TOO_BIG);
            return;
        }
        byte[] bytes = new byte[size];
        payload.getBytes(payload.readerIndex(), bytes); // copied: the buffer is released once this returns
        try {
            run(handle(codec.decode(bytes)));
        } catch (ProtocolException e) {
            send(ServerFrame.Error.of(e));
        }
    }

    /**
     * Runs a send's or a join's completion. {@code Mono.empty()}: it is done already. While
     * {@code maxInFlight} are pending, the channel reads no more.
     */
    private void run(Mono<Void> task) {
        if (task == Mono.<Void>empty()) {
            return;
        }
        if (++inFlight >= settings.maxInFlight()) {
            channel.config().setAutoRead(false);
        }
        Disposable.Composite made = pending;
        if (made == null) {
            made = Disposables.composite();
            pending = made;
        }
        Pending subscriber = new Pending(made);
        made.add(subscriber);
        task.subscribe(subscriber);
    }

    /** A send or join pending; its end is counted on the event loop. */
    private final class Pending extends BaseSubscriber<Void> {
        private final Disposable.Composite all;

        Pending(Disposable.Composite all) {
            this.all = all;
        }

        @Override
        protected void hookFinally(SignalType type) {
            all.remove(this);
            if (type != SignalType.CANCEL) {
                if (channel.eventLoop().inEventLoop()) {
                    completed();
                } else {
                    execute(Connection.this::completed);
                }
            }
        }
    }

    private void completed() {
        if (inFlight-- == settings.maxInFlight() && !ended) {
            channel.config().setAutoRead(true);
        }
    }

    private Mono<Void> handle(ClientFrame frame) {
        if (frame instanceof ClientFrame.Ping ping) {
            send(new ServerFrame.Pong(ping.ts(), services.clock().millis()));
            return Mono.empty();
        }
        if (frame instanceof ClientFrame.Join join) {
            return join(join.room(), join.since());
        }
        if (frame instanceof ClientFrame.Leave leave) {
            debug().addKeyValue(LogKeys.ROOM, leave.room()).log("Connection {} leaves {}", id, leave.room());
            rooms.remove(leave.room());
            services.rooms().leave(leave.room(), this);
            outbound.forget(leave.room());
            send(new ServerFrame.Left(leave.room()));
            return Mono.empty();
        }
        if (!(frame instanceof ClientFrame.RoomFrame send)) {
            send(ServerFrame.Error.of(ErrorCode.BAD_REQUEST, frame.messageId()));
            return Mono.empty();
        }
        // a send: comment, like, gift, mute or slow_mode
        if (identity == null || identity.isExpired(services.clock().instant())) {
            send(ServerFrame.Error.of(ErrorCode.UNAUTHORIZED, send.messageId()));
            return Mono.empty();
        }
        if (send instanceof ClientFrame.Comment comment) {
            return publish(comment, limiter().tryComment());
        }
        if (send instanceof ClientFrame.Gift gift && !services.gifts().contains(gift.gift())) {
            send(ServerFrame.Error.of(ErrorCode.UNKNOWN_GIFT, gift.id()));
            return Mono.empty();
        }
        if (send instanceof ClientFrame.Mute mute && !identity.canModerate(mute.room())) {
            send(ServerFrame.Error.of(ErrorCode.FORBIDDEN, null));
            return Mono.empty();
        }
        if (send instanceof ClientFrame.SlowMode slow && !identity.canSetSlowMode(slow.room())) {
            send(ServerFrame.Error.of(ErrorCode.FORBIDDEN, null));
            return Mono.empty();
        }
        return publish(send, limiter().trySend());
    }

    private Mono<Void> initialJoin(String room, @Nullable String since) {
        Long sinceSeq;
        try {
            Rules.room(room);
            sinceSeq = since == null || since.isEmpty() ? null : Long.valueOf(since);
            if (sinceSeq != null && sinceSeq < -1) {
                throw ProtocolException.badRequest("since must be >= -1");
            }
        } catch (ProtocolException e) {
            send(ServerFrame.Error.of(e));
            return Mono.empty();
        } catch (NumberFormatException e) {
            send(ServerFrame.Error.of(ProtocolException.badRequest("since must be a number")));
            return Mono.empty();
        }
        return join(room, sinceSeq);
    }

    private Mono<Void> join(String room, @Nullable Long since) {
        if (!rooms.contains(room) && rooms.size() >= settings.limits().maxRoomsPerConnection()) {
            send(ServerFrame.Error.of(ErrorCode.TOO_MANY_ROOMS, null));
            return Mono.empty();
        }
        rooms.add(room);
        debug().addKeyValue(LogKeys.ROOM, room).log("Connection {} joins {} (since {})", id, room, since);
        return services.rooms().join(room, since, this)
                .onErrorResume(e -> {
                    debug().addKeyValue(LogKeys.ROOM, room).log("Connection {}: join of {} failed: {}", id, room,
                            e.toString());
                    rooms.remove(room);
                    services.rooms().leave(room, this);
                    send(ServerFrame.Error.of(ErrorCode.UNAVAILABLE, null));
                    return Mono.empty();
                });
    }

    /**
     * Publishes an authorized send unless rate limited ({@code retryAfterMs} > 0); {@code ack}s
     * it, when it has an id, once the broker stored it.
     */
    private Mono<Void> publish(ClientFrame.RoomFrame frame, long retryAfterMs) {
        String ackId = frame.messageId();
        if (retryAfterMs > 0) {
            send(new ServerFrame.Error(ackId, ErrorCode.RATE_LIMITED, ErrorCode.RATE_LIMITED.defaultMessage(),
                    retryAfterMs));
            long now = System.nanoTime();
            if (rateLimited == 0 || now - abuseWindowStart > settings.abuseWindow().toNanos()) {
                abuseWindowStart = now;
                rateLimited = 0;
            }
            if (++rateLimited >= settings.abuseFrames()) {
                debug().log("Connection {}: {} sends rate limited within {}, closing", id, rateLimited,
                        settings.abuseWindow());
                close(CloseCode.TOO_MANY_REQUESTS);
            }
            return Mono.empty();
        }
        // the role as it holds in this room (a moderator only in the rooms of their token)
        User sender = identity != null ? identity.userIn(frame.room()) : user;
        Ingress ingress = new Ingress(settings.nodeId(), id, sender, services.clock().millis(), frame);
        return services.ingress().publish(ingress)
                .doOnSuccess(ignored -> {
                    if (ackId != null) {
                        send(new ServerFrame.Ack(ackId));
                    }
                })
                .onErrorResume(e -> {
                    debug().log("Connection {}: send not stored: {}", id, e.toString());
                    // a refusal with a protocol code (muted) is told as such; anything else is the broker
                    send(e instanceof ProtocolException refused ? ServerFrame.Error.of(refused)
                            : ServerFrame.Error.of(ErrorCode.UNAVAILABLE, ackId));
                    return Mono.empty();
                });
    }

    // ---- outbound ----

    private void send(ServerFrame frame) {
        deliver(Outbound.of(frame));
    }

    /**
     * Called every heartbeat tick: true when a PING is due; closes the connection when the peer
     * went silent or it lags too far behind.
     */
    private boolean beat() {
        long now = System.nanoTime();
        if (outbound.lagging(now) > settings.maxLag().toNanos()) {
            debug().log("Connection {}: lagging for over {}, closing", id, settings.maxLag());
            closeSlow();
            return false;
        }
        if (now - lastInbound >= settings.heartbeatTimeout().toNanos()) {
            close(CloseCode.HEARTBEAT_TIMEOUT);
            return false;
        }
        if (now - lastPing >= settings.heartbeatInterval().toNanos()) {
            lastPing = now;
            return true;
        }
        return false;
    }

    /** A heartbeat tick on the channel's event loop: the writer writes the PING. */
    private void beatOnLoop(ChannelWriter writer) {
        if (closed == 0 && beat()) {
            writer.ping();
        }
    }

    private CloseCode closeCodeFor(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof TooLongFrameException || t instanceof DecompressionException) {
                return CloseCode.MESSAGE_TOO_BIG;
            }
            if (t instanceof CorruptedWebSocketFrameException corrupted) {
                return corrupted.closeStatus().code() == WebSocketCloseStatus.MESSAGE_TOO_BIG.code()
                        ? CloseCode.MESSAGE_TOO_BIG : CloseCode.POLICY_VIOLATION;
            }
        }
        debug().log("Connection {}: inbound failed: {}", id, error.toString());
        return CloseCode.SERVER_ERROR;
    }

    /**
     * A DEBUG line about this connection, its id as a key-value pair (add the room's where there is
     * one). Set per call, not in the MDC: the connection's work runs on several threads.
     */
    private LoggingEventBuilder debug() {
        return log.atDebug().addKeyValue(LogKeys.CONNECTION, id);
    }

    /** The channel is gone: leave the rooms, cancel what is pending, give the ticket back. Once, on the event loop. */
    private void end() {
        if (ended) {
            return;
        }
        ended = true;
        closed = 1;
        if (heartbeat != null) {
            heartbeat.cancel(false);
        }
        if (closeDeadline != null) {
            closeDeadline.cancel(false);
        }
        if (pending != null) {
            pending.dispose();
        }
        for (String room : rooms) {
            services.rooms().leave(room, this);
        }
        rooms.clear();
        if (ticket != null) {
            ticket.release();
        }
        debug().log("Connection {} ended ({})", id, closeCode == 0 ? ABNORMAL : closeCode);
        ends.ended(this, closeCode == 0 ? ABNORMAL : closeCode);
    }
}
