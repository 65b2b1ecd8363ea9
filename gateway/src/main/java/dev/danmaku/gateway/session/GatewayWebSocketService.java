package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.auth.InvalidTokenException;
import dev.danmaku.gateway.auth.TokenVerifier;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.web.reactive.socket.WebSocketHandler;
import org.springframework.web.reactive.socket.server.WebSocketService;
import org.springframework.web.reactive.socket.server.support.HandshakeWebSocketService;
import org.springframework.web.reactive.socket.server.upgrade.ReactorNettyRequestUpgradeStrategy;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.WebsocketServerSpec;

/**
 * The {@code /ws} handshake: refuses a browser from an origin not allowed (403) and a bad or
 * expired token (401) before upgrading, then upgrades with Reactor Netty, limiting inbound
 * frames (and fragmented messages) to {@code maxFrameBytes} and offering permessage-deflate.
 * The token comes from the {@code token} query parameter or {@code Authorization: Bearer}; the
 * verified {@link Identity} (none: an anonymous viewer), the per-IP ticket and the channel reach the
 * connection as the handshake's principal, a {@link Handshake}. Beyond the per-IP cap: 429. The
 * client's IP is the TCP peer's, or, behind a trusted proxy, the one it forwarded ({@link ClientAddresses}).
 */
public final class GatewayWebSocketService implements WebSocketService {

    private static final Logger log = LoggerFactory.getLogger(GatewayWebSocketService.class);

    /** The session attribute holding the connection's Netty {@code Channel}, to drop a peer that stopped reading. */
    static final String CHANNEL_ATTRIBUTE = GatewayWebSocketService.class.getName() + ".channel";

    private final HandshakeWebSocketService upgrade;
    private final TokenVerifier tokens;
    private final List<String> allowedOrigins;
    private final @Nullable ConnectionCap cap;
    private final ClientAddresses clients;

    public GatewayWebSocketService(TokenVerifier tokens, List<String> allowedOrigins, int maxFrameBytes) {
        this(tokens, allowedOrigins, maxFrameBytes, null, new ClientAddresses(List.of()));
    }

    /**
     * With a per-IP cap on open connections: beyond it, the handshake is answered 429. The IP is
     * the client's as {@code clients} finds it.
     */
    public GatewayWebSocketService(TokenVerifier tokens, List<String> allowedOrigins, int maxFrameBytes,
                                   @Nullable ConnectionCap cap, ClientAddresses clients) {
        this.tokens = tokens;
        this.cap = cap;
        this.clients = clients;
        this.allowedOrigins = List.copyOf(allowedOrigins);
        this.upgrade = new HandshakeWebSocketService(new ReactorNettyRequestUpgradeStrategy(
                () -> WebsocketServerSpec.builder()
                        .maxFramePayloadLength(maxFrameBytes)
                        .compress(true)
                        .maxDecompressionBufferSize(maxFrameBytes)));
    }

    @Override
    public Mono<Void> handleRequest(ServerWebExchange exchange, WebSocketHandler handler) {
        ServerHttpRequest request = exchange.getRequest();
        Channel channel = ServerHttpRequestDecorator.getNativeRequest(request) instanceof reactor.netty.Connection c
                ? c.channel() : null;
        String origin = request.getHeaders().getOrigin();
        if (origin != null && !allowedOrigins.isEmpty() && !allowedOrigins.contains(origin)) {
            return refuse(exchange, HttpStatus.FORBIDDEN);
        }
        ConnectionCap.Ticket ticket = null;
        if (cap != null) {
            String ip = clients.of(request.getRemoteAddress(), request.getHeaders());
            ticket = cap.tryAcquire(ip);
            if (ticket == null) {
                log.debug("Refused a WebSocket from {} (peer {}): {} open from it", ip, request.getRemoteAddress(),
                        cap.openFrom(ip));
                return refuse(exchange, HttpStatus.TOO_MANY_REQUESTS);
            }
        }
        ConnectionCap.Ticket held = ticket;
        // the connection gives the ticket back when it ends; a handshake that fails, here
        return upgradeWithToken(exchange, request, handler, held, channel)
                .doOnError(e -> release(held))
                .doOnCancel(() -> release(held));
    }

    private static void release(ConnectionCap.@Nullable Ticket ticket) {
        if (ticket != null) {
            ticket.release();
        }
    }

    private Mono<Void> upgradeWithToken(ServerWebExchange exchange, ServerHttpRequest request,
                                        WebSocketHandler handler, ConnectionCap.@Nullable Ticket ticket,
                                        @Nullable Channel channel) {
        String token = token(request);
        if (token == null) {
            return upgrade.handleRequest(withPrincipal(exchange, new Handshake(null, ticket, channel)), handler);
        }
        return tokens.verify(token)
                .map(Optional::of)
                .onErrorResume(InvalidTokenException.class, e -> Mono.just(Optional.empty()))
                .flatMap(identity -> {
                    if (identity.isEmpty()) {
                        exchange.getResponse().getHeaders().set(HttpHeaders.WWW_AUTHENTICATE,
                                "Bearer error=\"invalid_token\"");
                        release(ticket);
                        return refuse(exchange, HttpStatus.UNAUTHORIZED);
                    }
                    return upgrade.handleRequest(withPrincipal(exchange, new Handshake(identity.get(), ticket, channel)),
                            handler);
                });
    }

    private static ServerWebExchange withPrincipal(ServerWebExchange exchange, Handshake handshake) {
        return exchange.mutate().principal(Mono.just(handshake)).build();
    }

    private static @Nullable String token(ServerHttpRequest request) {
        String query = request.getQueryParams().getFirst("token");
        if (query != null && !query.isEmpty()) {
            return query;
        }
        String header = request.getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && header.length() > 7) {
            return header.substring(7).trim();
        }
        return null;
    }

    private static Mono<Void> refuse(ServerWebExchange exchange, HttpStatus status) {
        exchange.getResponse().setStatusCode(status);
        return exchange.getResponse().setComplete();
    }
}
