package dev.danmaku.gateway.session;

import dev.danmaku.gateway.LogKeys;
import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.fanout.ChannelWriter;
import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.fanout.Outbox;
import dev.danmaku.gateway.fanout.SharedBatch;
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
import io.netty.channel.Channel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.compression.DecompressionException;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.WebSocketCloseStatus;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.web.reactive.socket.CloseStatus;
import org.springframework.web.reactive.socket.WebSocketMessage;
import org.springframework.web.reactive.socket.WebSocketSession;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * One viewer's WebSocket connection, from {@code welcome} to close: it owns the connection's
 * state (user, joined rooms), its bounded outbound queue, its send rate limits and its close.
 *
 * <p>{@link #run} returns the connection's whole life as one {@code Mono}: the inbound pipeline
 * (frames decoded and handled on the event loop; sends and joins complete asynchronously, at
 * most {@code maxInFlight} at once), the outbound side and the close. On a Netty channel (the
 * server) a {@link ChannelWriter} writes the queue straight to the channel and the heartbeat is a
 * task scheduled on the channel's event loop, which has the writer write each PING; elsewhere
 * (tests' sessions) queue and PINGs go through {@code session.send}. Anything may queue frames ({@link #deliver}): the event
 * loop, the room feed's thread, the producer's thread. The queue is an {@link Outbox}: a viewer
 * that reads too slowly is first sent fewer comment batches, then closed with 1013 when it lags
 * for longer than {@code maxLag} or overflows even the headroom for its own frames.
 * {@link #close} is idempotent: the first code wins and the close frame is sent once; a close
 * frame the peer does not take within {@link #CLOSE_GRACE} drops the socket.
 */
public final class Connection implements RoomViewer {

    private static final Logger log = LoggerFactory.getLogger(Connection.class);

    /** How long a close frame may take to get out before the socket is dropped. */
    static final Duration CLOSE_GRACE = Duration.ofSeconds(2);

    private final String id;
    private final WebSocketSession session;
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
    private static final AtomicIntegerFieldUpdater<Connection> CLOSED =
            AtomicIntegerFieldUpdater.newUpdater(Connection.class, "closed");
    /**
     * 1 once closing. An int field, not an {@code AtomicBoolean}: the room feed reads it for every
     * viewer of every batch, and an object of its own was one more cache miss each time.
     */
    private volatile int closed;
    private final Sinks.One<CloseStatus> closeSignal = Sinks.one();
    /** Few, rarely changed (at most the room limit): a copy-on-write array is the lightest set. */
    private final Set<String> rooms = new java.util.concurrent.CopyOnWriteArraySet<>();
    /** The socket's Netty channel (none for tests' fake sessions). */
    private final @Nullable Channel channel;
    private volatile long lastInbound;
    /** Sends answered rate_limited in the current abuse window (event loop only). */
    private int rateLimited;
    private long abuseWindowStart;
    private long lastPing;

    Connection(String id, WebSocketSession session, FrameCodec codec, @Nullable Identity identity,
               ConnectionServices services) {
        this(id, session, codec, identity, services, new OutboundStats(), null);
    }

    Connection(String id, WebSocketSession session, FrameCodec codec, @Nullable Identity identity,
               ConnectionServices services, OutboundStats stats, @Nullable Channel channel) {
        this.id = id;
        this.channel = channel;
        this.session = session;
        this.codec = codec;
        this.identity = identity;
        this.user = identity != null ? identity.user() : new User("anon-" + id, "anonymous", Role.VIEWER);
        this.services = services;
        this.settings = services.settings();
        this.stats = stats;
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
     * The connection's life: {@code welcome}, then the optional join of {@code room} (the
     * {@code ?room=&since=} shorthand), then frames until either side closes.
     */
    public Mono<Void> run(@Nullable String room, @Nullable String since) {
        lastInbound = System.nanoTime();
        lastPing = lastInbound;
        debug().addKeyValue(LogKeys.USER, user.id())
                .log("Connection {} opened ({}, user {})", id, codec.subprotocol(), user.id());
        // On a Netty channel the queue is written straight to it (the fan-out path); elsewhere
        // (tests' fake sessions) through session.send
        ChannelWriter writer = channel != null ? ChannelWriter.attach(channel, outbound, codec, written::written) : null;
        send(new ServerFrame.Welcome(id, user,
                new ServerFrame.Heartbeat(settings.heartbeatInterval().toMillis(), settings.heartbeatTimeout().toMillis()),
                ServerFrame.ClientLimits.of(settings.limits())));

        // The close frame goes first (with our code), then the streams stop: cancelling the
        // inbound first would make Reactor Netty send a close frame of its own, without a code.
        Mono<Void> closing = closeSignal.asMono()
                .doOnNext(status -> {
                    if (writer != null) {
                        writer.stop(); // nothing after the close frame
                    }
                })
                .flatMap(status -> session.close(status)
                        // a peer that does not read never lets the close frame through: drop the socket
                        .timeout(CLOSE_GRACE, Mono.fromRunnable(this::abort))
                        .onErrorResume(e -> Mono.empty()))
                .cache();
        Mono<Boolean> closeSent = closing.thenReturn(true);

        Flux<Mono<Void>> work = session.receive()
                .doOnComplete(() -> close(CloseCode.NORMAL))
                // before flatMap, which would cancel the receive on an error: Reactor Netty answers
                // a cancelled receive with a close frame without a code, ahead of ours
                .onErrorResume(e -> {
                    close(closeCodeFor(e));
                    return Flux.empty();
                })
                .map(this::onMessage);
        if (room != null) {
            work = work.startWith(Mono.defer(() -> initialJoin(room, since)));
        }
        Mono<Void> inbound = work
                .flatMap(task -> task, settings.maxInFlight())
                .takeUntilOther(closeSent)
                .then()
                .onErrorResume(e -> {
                    close(closeCodeFor(e));
                    return Mono.empty();
                });

        Mono<Void> send;
        if (writer != null && channel != null) {
            // The heartbeat as a task of the channel's own event loop: PINGs are written there by
            // the writer, with no Reactor stream per connection (Netty's timer queue per loop).
            long tick = settings.heartbeatTick().toNanos();
            ScheduledFuture<?> beat = channel.eventLoop()
                    .scheduleAtFixedRate(() -> beatOnLoop(writer), tick, tick, TimeUnit.NANOSECONDS);
            send = closeSignal.asMono().then().doFinally(signal -> beat.cancel(false));
        } else {
            Flux<WebSocketMessage> frames = outbound.flux().map(this::toMessage);
            Flux<WebSocketMessage> pings = Flux.interval(settings.heartbeatTick(), settings.heartbeatTick())
                    .handle((tick, sink) -> {
                        if (beat()) {
                            sink.next(session.pingMessage(factory -> factory.wrap(new byte[0])));
                        }
                    });
            send = session.send(Flux.merge(frames, pings).takeUntilOther(closeSignal.asMono()))
                    .onErrorResume(e -> {
                        debug().log("Connection {}: send failed: {}", id, e.toString());
                        close(CloseCode.GOING_AWAY);
                        return Mono.empty();
                    });
        }

        return Mono.when(inbound, send, closing).doFinally(signal -> leaveAll());
    }

    /**
     * Closes the connection with this code (once: later calls do nothing). Does not block. Must
     * not be called under a room's lock (it cancels pending joins, which take room locks): from
     * there, {@link #deliver} closes through another thread.
     */
    public void close(CloseCode code) {
        if (CLOSED.compareAndSet(this, 0, 1)) {
            debug().addKeyValue(LogKeys.CODE, code.code()).log("Connection {} closing with {}", id, code.code());
            closeSignal.tryEmitValue(new CloseStatus(code.code(), code.reason()));
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

    /** The socket's Netty channel, if it has one. */
    @Nullable Channel channel() {
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

    /** Closes 1013 from another thread: the caller may hold a room's lock. */
    private void closeSlow() {
        if (CLOSED.compareAndSet(this, 0, 1)) {
            debug().addKeyValue(LogKeys.CODE, CloseCode.TRY_AGAIN_LATER.code())
                    .log("Connection {} closing with {}: reads too slowly", id, CloseCode.TRY_AGAIN_LATER.code());
            stats.slowClosed();
            CloseStatus status = new CloseStatus(CloseCode.TRY_AGAIN_LATER.code(), CloseCode.TRY_AGAIN_LATER.reason());
            Schedulers.parallel().schedule(() -> closeSignal.tryEmitValue(status));
        }
    }

    /** Drops the socket without a close handshake (the peer did not take the close frame). */
    private void abort() {
        if (channel != null) {
            debug().log("Connection {}: close frame not taken within {}, dropping the socket", id, CLOSE_GRACE);
            channel.close();
        }
    }

    // ---- inbound ----

    private Mono<Void> onMessage(WebSocketMessage message) {
        lastInbound = System.nanoTime();
        if (message.getType() != WebSocketMessage.Type.TEXT && message.getType() != WebSocketMessage.Type.BINARY) {
            return Mono.empty(); // PONG (counted above as a sign of life)
        }
        DataBuffer payload = message.getPayload();
        int size = payload.readableByteCount();
        if (size > settings.limits().maxFrameBytes()) {
            // Netty enforces the limit on the wire; this catches frames that grew when inflated
            close(CloseCode.MESSAGE_TOO_BIG);
            return Mono.empty();
        }
        byte[] bytes = new byte[size];
        payload.read(bytes); // copied now: the buffer is released once this returns
        try {
            return handle(codec.decode(bytes));
        } catch (ProtocolException e) {
            send(ServerFrame.Error.of(e));
            return Mono.empty();
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

    private WebSocketMessage toMessage(Outbound item) {
        byte[] bytes = item instanceof SharedBatch batch
                ? batch.bytes(codec)
                : codec.encode(((Outbound.Frame) item).frame());
        written.written(item, bytes.length);
        DataBuffer buffer = session.bufferFactory().wrap(bytes); // no copy: shared bytes are read-only
        return new WebSocketMessage(codec.binary() ? WebSocketMessage.Type.BINARY : WebSocketMessage.Type.TEXT,
                buffer);
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

    private void leaveAll() {
        closed = 1;
        for (String room : rooms) {
            services.rooms().leave(room, this);
        }
        rooms.clear();
    }
}
