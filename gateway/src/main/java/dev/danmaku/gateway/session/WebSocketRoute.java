package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.auth.InvalidTokenException;
import dev.danmaku.gateway.auth.TokenVerifier;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpCookie;
import org.springframework.http.HttpHeaders;
import org.springframework.http.support.Netty4HeadersAdapter;
import org.springframework.util.CollectionUtils;
import org.springframework.util.LinkedMultiValueMap;
import org.springframework.util.MultiValueMap;
import org.springframework.web.reactive.socket.HandshakeInfo;
import org.springframework.web.reactive.socket.adapter.ReactorNettyWebSocketSession;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.http.server.HttpServerRoutes;
import reactor.netty.http.server.WebsocketServerSpec;

/**
 * {@code GET /ws}, served by Reactor Netty's own routes ahead of Spring WebFlux: a WebSocket
 * lives for hours, and going through WebFlux kept, per connection, the HTTP exchange, its
 * request and response adapters, the handshake's headers and an HTTP observation open as long
 * as the socket (most of a connection's memory), and cost a handler lookup per handshake.
 *
 * <p>The handshake refuses, in this order, a browser from an origin not allowed (403), a client
 * IP over its connection cap (429), a bad or expired token (401, with {@code WWW-Authenticate}:
 * also for a plain GET, which is how the browser client learns why its handshake failed) and
 * what is not a WebSocket upgrade (400) before upgrading; then upgrades with the first subprotocol the client
 * offers that the gateway speaks (none: {@code danmaku.v1.json}), limiting inbound frames (and
 * fragmented messages) to {@code maxFrameBytes} and accepting permessage-deflate, always without
 * server context takeover ({@link DeflateOffers}). The token comes
 * from the {@code token} query parameter or {@code Authorization: Bearer}. The upgraded socket
 * is handed to the {@link GatewayWebSocketHandler} as a Spring {@code WebSocketSession} whose
 * principal is a {@link Handshake}: the verified {@link Identity} (none: anonymous), the per-IP
 * ticket and the channel. The client's IP is the TCP peer's, or, behind a trusted proxy, the one
 * it forwarded ({@link ClientAddresses}).
 */
public final class WebSocketRoute implements NettyRouteProvider {

    private static final Logger log = LoggerFactory.getLogger(WebSocketRoute.class);

    /** Where viewers connect. */
    public static final String PATH = "/ws";

    private final GatewayWebSocketHandler handler;
    private final TokenVerifier tokens;
    private final List<String> allowedOrigins;
    private final int maxFrameBytes;
    private final @Nullable ConnectionCap cap;
    private final ClientAddresses clients;
    private static final URI URI_OF_PATH = URI.create(PATH);
    private static final HttpHeaders NO_HEADERS = HttpHeaders.readOnlyHttpHeaders(new HttpHeaders());
    private static final MultiValueMap<String, HttpCookie> NO_COOKIES =
            CollectionUtils.unmodifiableMultiValueMap(new LinkedMultiValueMap<>());

    private final NettyDataBufferFactory buffers = new NettyDataBufferFactory(ByteBufAllocator.DEFAULT);

    /**
     * @param cap     open connections per client IP: beyond it, the handshake is answered 429
     * @param clients how the client's IP is found
     */
    public WebSocketRoute(GatewayWebSocketHandler handler, TokenVerifier tokens, List<String> allowedOrigins,
                          int maxFrameBytes, @Nullable ConnectionCap cap, ClientAddresses clients) {
        this.handler = handler;
        this.tokens = tokens;
        this.allowedOrigins = List.copyOf(allowedOrigins);
        this.maxFrameBytes = maxFrameBytes;
        this.cap = cap;
        this.clients = clients;
    }

    @Override
    public HttpServerRoutes apply(HttpServerRoutes routes) {
        return routes.get(PATH, this::handshake);
    }

    private Publisher<Void> handshake(HttpServerRequest request, HttpServerResponse response) {
        io.netty.handler.codec.http.HttpHeaders nettyHeaders = request.requestHeaders();
        String origin = nettyHeaders.get(HttpHeaderNames.ORIGIN);
        if (origin != null && !allowedOrigins.isEmpty() && !allowedOrigins.contains(origin)) {
            return refuse(response, HttpResponseStatus.FORBIDDEN);
        }
        ConnectionCap.Ticket ticket = null;
        if (cap != null) {
            InetSocketAddress peer = request.remoteAddress();
            String ip = clients.of(peer, new HttpHeaders(new Netty4HeadersAdapter(nettyHeaders)));
            ticket = cap.tryAcquire(ip);
            if (ticket == null) {
                log.debug("Refused a WebSocket from {} (peer {}): {} open from it", ip, peer, cap.openFrom(ip));
                return refuse(response, HttpResponseStatus.TOO_MANY_REQUESTS);
            }
        }
        ConnectionCap.Ticket held = ticket;
        Channel channel = request instanceof Connection connection ? connection.channel() : null;
        Map<String, List<String>> query = new QueryStringDecoder(request.uri()).parameters();
        String room = first(query, "room");
        String since = first(query, "since");
        String token = first(query, "token");
        if (token == null || token.isEmpty()) {
            token = bearer(request);
        }
        Mono<Void> upgraded;
        if (token == null) {
            upgraded = upgrade(request, response, new Handshake(null, held, channel, room, since));
        } else {
            upgraded = tokens.verify(token)
                    .map(Optional::of)
                    .onErrorResume(InvalidTokenException.class, e -> Mono.just(Optional.empty()))
                    .flatMap(identity -> {
                        if (identity.isEmpty()) {
                            release(held);
                            response.header(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"");
                            return refuse(response, HttpResponseStatus.UNAUTHORIZED);
                        }
                        return upgrade(request, response, new Handshake(identity.get(), held, channel, room, since));
                    });
        }
        // the connection gives the ticket back when it ends; a handshake that fails, here
        return upgraded.doOnError(e -> release(held)).doOnCancel(() -> release(held));
    }

    private Mono<Void> upgrade(HttpServerRequest request, HttpServerResponse response, Handshake handshake) {
        if (!request.requestHeaders().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            // after the token's check: a browser client asks with a plain GET whether its
            // failed handshake was a refused token (401)
            release(handshake.ticket());
            return response.status(HttpResponseStatus.BAD_REQUEST).sendString(Mono.just("Not a WebSocket upgrade")).then();
        }
        String subprotocol = subprotocol(request.requestHeaders().getAll(HttpHeaderNames.SEC_WEBSOCKET_PROTOCOL));
        // permessage-deflate without server context takeover, so that a batch is compressed once for all
        String offers = DeflateOffers.serverNoContext(request.requestHeaders().getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS));
        if (offers == null) {
            request.requestHeaders().remove(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        } else {
            request.requestHeaders().set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, offers);
        }
        WebsocketServerSpec.Builder spec = WebsocketServerSpec.builder()
                .maxFramePayloadLength(maxFrameBytes)
                .compress(true)
                .compressionAllowServerNoContext(true)
                .maxDecompressionBufferSize(maxFrameBytes);
        if (subprotocol != null) {
            spec.protocols(subprotocol);
        }
        // Only what the connection reads: the subprotocol and the principal (with the query's
        // shorthand join); not the request's URI or headers, kept as long as the socket otherwise.
        HandshakeInfo info = new HandshakeInfo(URI_OF_PATH, NO_HEADERS, NO_COOKIES, Mono.just(handshake), subprotocol,
                null, Map.of(), null);
        return response.sendWebsocket((in, out) -> {
            // Upgraded: the handshake's request and response headers are not read again, but
            // Reactor Netty's WebSocket operations hold them for the socket's life
            request.requestHeaders().clear();
            response.responseHeaders().clear();
            return handler.handle(new ReactorNettyWebSocketSession(in, out, info, buffers, maxFrameBytes), handshake);
        }, spec.build());
    }

    /** The first of the client's subprotocols that the gateway speaks. */
    private @Nullable String subprotocol(List<String> offered) {
        List<String> spoken = handler.getSubProtocols();
        for (String header : offered) {
            for (String protocol : header.split(",")) {
                String trimmed = protocol.trim();
                if (spoken.contains(trimmed)) {
                    return trimmed;
                }
            }
        }
        return null;
    }

    private static void release(ConnectionCap.@Nullable Ticket ticket) {
        if (ticket != null) {
            ticket.release();
        }
    }

    private static @Nullable String first(Map<String, List<String>> query, String name) {
        List<String> values = query.get(name);
        return values == null || values.isEmpty() ? null : values.get(0);
    }

    private static @Nullable String bearer(HttpServerRequest request) {
        String header = request.requestHeaders().get(HttpHeaderNames.AUTHORIZATION);
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && header.length() > 7) {
            return header.substring(7).trim();
        }
        return null;
    }

    private static Mono<Void> refuse(HttpServerResponse response, HttpResponseStatus status) {
        return response.status(status).header(HttpHeaderNames.CONTENT_LENGTH, "0").send().then();
    }
}
