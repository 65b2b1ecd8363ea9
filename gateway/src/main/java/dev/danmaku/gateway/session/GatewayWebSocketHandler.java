package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.codec.FrameCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.WebSocketSession;
import org.springframework.web.util.UriComponentsBuilder;
import org.springframework.web.util.UriUtils;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * {@code /ws}: makes a {@link Connection} for each upgraded session and returns its life. The
 * subprotocol picks the codec ({@code danmaku.v1.json} by default); the identity is the principal
 * {@link GatewayWebSocketService} verified at the handshake (none: anonymous).
 */
public final class GatewayWebSocketHandler implements WebSocketHandler {

    private final Codecs codecs;
    private final ConnectionServices services;
    private final AtomicLong sequence = new AtomicLong();
    private final Set<Connection> open = ConcurrentHashMap.newKeySet();
    private final OutboundStats outboundStats = new OutboundStats();

    public GatewayWebSocketHandler(Codecs codecs, ConnectionServices services) {
        this.codecs = codecs;
        this.services = services;
    }

    /** The slow-viewer policy's counts over this node's connections. */
    public OutboundStats outboundStats() {
        return outboundStats;
    }

    @Override
    public List<String> getSubProtocols() {
        return codecs.subprotocols();
    }

    @Override
    public Mono<Void> handle(WebSocketSession session) {
        FrameCodec codec = codecs.forSubprotocol(session.getHandshakeInfo().getSubProtocol());
        String id = services.settings().nodeId() + "-" + Long.toString(sequence.incrementAndGet(), 36);
        MultiValueMap<String, String> query = UriComponentsBuilder.fromUri(session.getHandshakeInfo().getUri())
                .build().getQueryParams();
        String room = decoded(query.getFirst("room"));
        String since = decoded(query.getFirst("since"));
        return session.getHandshakeInfo().getPrincipal() // resolved at the handshake: emits at once
                .ofType(Identity.class)
                .map(Optional::of)
                .defaultIfEmpty(Optional.empty())
                .flatMap(identity -> {
                    Connection connection = new Connection(id, session, codec, identity.orElse(null), services,
                            outboundStats);
                    open.add(connection);
                    return connection.run(room, since).doFinally(signal -> open.remove(connection));
                });
    }

    /** Connections open now. */
    public int openConnections() {
        return open.size();
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

    private static @Nullable String decoded(@Nullable String value) {
        return value == null ? null : UriUtils.decode(value, StandardCharsets.UTF_8);
    }
}
