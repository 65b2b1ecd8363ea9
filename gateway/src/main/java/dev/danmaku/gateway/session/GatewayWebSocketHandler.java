package dev.danmaku.gateway.session;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code /ws}'s connections: makes a {@link Connection} for each upgraded channel (the subprotocol
 * picks the codec, {@code danmaku.v1.json} by default; the identity, the per-IP ticket and the
 * shorthand join come from the {@link Handshake} that {@link WebSocketRoute} made), keeps the open
 * ones, counts how they ended, and {@link #drain closes them in waves} at shutdown.
 */
public final class GatewayWebSocketHandler implements Connection.Ends {

    private final Codecs codecs;
    private final ConnectionServices services;
    private final AtomicLong sequence = new AtomicLong();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final OutboundStats outboundStats = new OutboundStats();
    private final CloseCodes closeCodes = new CloseCodes();
    private volatile boolean draining;

    public GatewayWebSocketHandler(Codecs codecs, ConnectionServices services) {
        this.codecs = codecs;
        this.services = services;
    }

    /** How this node's connections ended, by close code. */
    public CloseCodes closeCodes() {
        return closeCodes;
    }

    /** The slow-viewer policy's counts over this node's connections. */
    public OutboundStats outboundStats() {
        return outboundStats;
    }

    /** The subprotocols spoken, the default first. */
    public List<String> getSubProtocols() {
        return codecs.subprotocols();
    }

    /**
     * Starts a connection on this channel, upgraded to a WebSocket with this subprotocol (none:
     * the default). On the channel's event loop. While draining, the channel is closed with 1012
     * at once (reconnect elsewhere).
     */
    void open(Channel channel, @Nullable String subprotocol, Handshake handshake) {
        if (draining) {
            if (handshake.ticket() != null) {
                handshake.ticket().release();
            }
            channel.writeAndFlush(new CloseWebSocketFrame(CloseCode.SERVICE_RESTART.code(),
                    CloseCode.SERVICE_RESTART.reason())).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        FrameCodec codec = codecs.forSubprotocol(subprotocol);
        String id = services.settings().nodeId() + "-" + Long.toString(sequence.incrementAndGet(), 36);
        Connection connection = new Connection(id, channel, codec, handshake.identity(), services, outboundStats,
                handshake.ticket(), this);
        open.add(connection);
        connection.start(handshake.room(), handshake.since());
    }

    @Override
    public void ended(Connection connection, int closeCode) {
        open.remove(connection);
        closeCodes.record(closeCode);
    }

    /** Connections open now. */
    public int openConnections() {
        return open.size();
    }

    /**
     * What this node holds for its viewers that they have not taken yet: the frames in the
     * connections' outbound queues, and the bytes Netty has accepted for their sockets but not
     * yet written (its outbound buffers). Both are bounded per connection (see docs/gateway.md,
     * "Slow viewers"), whatever the traffic. A snapshot, cheap enough for a gauge.
     */
    public Backlog outboundBacklog() {
        long frames = 0;
        long bytes = 0;
        for (Connection connection : open) {
            frames += connection.queuedFrames();
            ChannelOutboundBuffer buffer = connection.channel().unsafe().outboundBuffer();
            if (buffer != null) {
                bytes += buffer.totalPendingWriteBytes();
            }
        }
        return new Backlog(open.size(), frames, bytes);
    }

    /**
     * @param connections  open connections
     * @param queuedFrames frames in their outbound queues
     * @param pendingBytes bytes in Netty's outbound buffers of their channels
     */
    public record Backlog(int connections, long queuedFrames, long pendingBytes) {
    }

    /**
     * Closes every open connection with this code.
     *
     * @return completes when they are all gone, or after {@code max}
     */
    public Mono<Void> closeAll(CloseCode code, Duration max) {
        open.forEach(connection -> connection.close(code));
        return Flux.interval(Duration.ofMillis(10))
                .takeUntil(tick -> open.isEmpty())
                .then()
                .timeout(max, Mono.empty());
    }

    /**
     * Stops taking connections and closes the open ones with this code in {@code waves} spread
     * over {@code period} (each wave closes its share of those still open), then waits up to
     * {@code lastClose} for them to be gone. Does not block.
     */
    public Mono<Void> drain(CloseCode code, Duration period, int waves, Duration lastClose) {
        draining = true;
        Duration interval = period.dividedBy(waves);
        return Flux.range(1, waves)
                .concatMap(wave -> (wave == 1 ? Mono.<Void>empty() : untilAllGone(interval)).then(Mono.fromRunnable(() -> {
                    List<Connection> remaining = open.stream().filter(c -> !c.isClosed()).toList();
                    int wavesLeft = waves - wave + 1;
                    int share = (remaining.size() + wavesLeft - 1) / wavesLeft;
                    remaining.stream().limit(share).forEach(connection -> connection.close(code));
                })))
                .then(Mono.defer(() -> closeAll(code, lastClose)));
    }

    /** Waits this long, or less if every connection is gone. */
    private Mono<Void> untilAllGone(Duration max) {
        return Flux.interval(Duration.ofMillis(20))
                .takeUntil(tick -> open.isEmpty())
                .then()
                .timeout(max, Mono.empty());
    }

    /** True once {@link #drain} started. */
    public boolean isDraining() {
        return draining;
    }
}
