package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.auth.InvalidTokenException;
import dev.danmaku.gateway.auth.TokenVerifier;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketServerHandshakerFactory;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionUtil;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtension;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.netty.handler.codec.compression.ZlibCodecFactory;
import io.netty.util.CharsetUtil;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.support.Netty4HeadersAdapter;
import reactor.core.publisher.Mono;
import reactor.netty.NettyPipeline;

/**
 * {@code GET /ws}, taken off the HTTP pipeline by a Netty handler ahead of Reactor Netty's and
 * WebFlux's: a WebSocket lives for hours, and a connection then holds only its Netty handlers and
 * its {@link Connection}, with no HTTP exchange, Reactor operators or Spring session per socket;
 * a handshake costs no route lookup and no per-connection Reactor pipeline. Every other request
 * goes on to Reactor Netty as it came. {@link #install} puts the handler in each new channel.
 *
 * <p>The handshake refuses, in this order, a browser from an origin not allowed (403), a client
 * IP over its connection cap (429), a bad or expired token (401, with {@code WWW-Authenticate}:
 * also for a plain GET, which is how the browser client learns why its handshake failed) and
 * what is not a WebSocket upgrade (400; an unsupported WebSocket version, 426) before upgrading;
 * a refusal closes the socket. Then it upgrades with the first subprotocol the client offers that
 * the gateway speaks (none: {@code danmaku.v1.json}), limiting inbound frames (and fragmented
 * messages) to {@code maxFrameBytes} and accepting permessage-deflate, always without server
 * context takeover ({@link DeflateOffers}), and hands the channel to the
 * {@link GatewayWebSocketHandler} with a {@link Handshake}: the verified {@link Identity} (none:
 * anonymous), the per-IP ticket and the shorthand join. The token comes from the {@code token}
 * query parameter or {@code Authorization: Bearer}. The client's IP is the TCP peer's, or, behind
 * a trusted proxy, the one it forwarded ({@link ClientAddresses}).
 */
public final class WebSocketRoute {

    private static final Logger log = LoggerFactory.getLogger(WebSocketRoute.class);

    /** Where viewers connect. */
    public static final String PATH = "/ws";
    private static final String NAME = "danmaku.ws.upgrade";
    private static final String FRAME_AGGREGATOR = "danmaku.ws.aggregator";
    /** Reactor Netty's per-request HTTP handlers: not for a WebSocket (the idle timeout would close it). */
    private static final List<String> HTTP_HANDLERS = List.of(NettyPipeline.HttpTrafficHandler,
            NettyPipeline.AccessLogHandler, NettyPipeline.HttpMetricsHandler, NettyPipeline.CompressionHandler,
            NettyPipeline.IdleTimeoutHandler);

    private final GatewayWebSocketHandler handler;
    private final TokenVerifier tokens;
    private final List<String> allowedOrigins;
    private final int maxFrameBytes;
    private final @Nullable ConnectionCap cap;
    private final ClientAddresses clients;
    private final WebSocketServerHandshakerFactory handshakers;
    private final PerMessageDeflateServerExtensionHandshaker deflate;

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
        // Netty picks the first of the client's subprotocols that the gateway speaks
        this.handshakers = new WebSocketServerHandshakerFactory(PATH, String.join(",", handler.getSubProtocols()),
                WebSocketDecoderConfig.newBuilder()
                        .maxFramePayloadLength(maxFrameBytes)
                        .allowExtensions(true)
                        .closeOnProtocolViolation(false) // the Connection closes, with the protocol's code
                        .build());
        this.deflate = new PerMessageDeflateServerExtensionHandshaker(6,
                ZlibCodecFactory.isSupportingWindowSizeAndMemLevel(),
                PerMessageDeflateServerExtensionHandshaker.MAX_WINDOW_SIZE, true, false, maxFrameBytes);
    }

    /** Puts the {@code /ws} handler in a new server channel, after its HTTP codec (none: not HTTP/1.1, left alone). */
    public void install(Channel channel) {
        ChannelPipeline pipeline = channel.pipeline();
        if (pipeline.get(NettyPipeline.HttpCodec) != null) {
            pipeline.addAfter(NettyPipeline.HttpCodec, NAME, new Upgrade());
        }
    }

    /** One per HTTP channel, until its {@code /ws} request is answered. */
    private final class Upgrade extends ChannelInboundHandlerAdapter {

        /** A {@code /ws} request is being answered: what else comes in is dropped. */
        private boolean answering;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (answering) {
                ReferenceCountUtil.release(msg); // the request's (empty) body; nothing else is read meanwhile
                return;
            }
            if (msg instanceof HttpRequest request && request.method() == HttpMethod.GET && isPath(request.uri())) {
                answering = true;
                ctx.channel().config().setAutoRead(false); // until it is answered
                try {
                    handshake(ctx, request);
                } catch (RuntimeException e) {
                    log.warn("WebSocket handshake failed", e);
                    refuse(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, null);
                } finally {
                    ReferenceCountUtil.release(msg);
                }
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    private static boolean isPath(String uri) {
        return uri.startsWith(PATH) && (uri.length() == PATH.length() || uri.charAt(PATH.length()) == '?');
    }

    private void handshake(ChannelHandlerContext ctx, HttpRequest request) {
        HttpHeaders headers = request.headers();
        String origin = headers.get(HttpHeaderNames.ORIGIN);
        if (origin != null && !allowedOrigins.isEmpty() && !allowedOrigins.contains(origin)) {
            refuse(ctx, HttpResponseStatus.FORBIDDEN, null);
            return;
        }
        ConnectionCap.Ticket ticket = null;
        if (cap != null) {
            InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
            String ip = clients.of(peer, new org.springframework.http.HttpHeaders(new Netty4HeadersAdapter(headers)));
            ticket = cap.tryAcquire(ip);
            if (ticket == null) {
                log.debug("Refused a WebSocket from {} (peer {}): {} open from it", ip, peer, cap.openFrom(ip));
                refuse(ctx, HttpResponseStatus.TOO_MANY_REQUESTS, null);
                return;
            }
        }
        Map<String, List<String>> query = new QueryStringDecoder(request.uri()).parameters();
        String room = first(query, "room");
        String since = first(query, "since");
        String token = first(query, "token");
        if (token == null || token.isEmpty()) {
            token = bearer(headers);
        }
        if (token == null) {
            upgrade(ctx, request, new Handshake(null, ticket, room, since));
            return;
        }
        ConnectionCap.Ticket held = ticket;
        // never empty: a verifier that found no identity would otherwise leave the handshake unanswered
        tokens.verify(token).switchIfEmpty(Mono.error(() -> new InvalidTokenException("invalid token: no identity")))
                .subscribe(
                identity -> onLoop(ctx, held, () -> upgrade(ctx, request, new Handshake(identity, held, room, since))),
                error -> onLoop(ctx, held, () -> {
                    release(held);
                    if (error instanceof InvalidTokenException) {
                        refuse(ctx, HttpResponseStatus.UNAUTHORIZED, "Bearer error=\"invalid_token\"");
                    } else {
                        log.warn("WebSocket handshake: the token could not be checked", error);
                        refuse(ctx, HttpResponseStatus.INTERNAL_SERVER_ERROR, null);
                    }
                }));
    }

    /** Goes on with the handshake on the channel's event loop, unless the client has gone. */
    private static void onLoop(ChannelHandlerContext ctx, ConnectionCap.@Nullable Ticket ticket, Runnable next) {
        Runnable guarded = () -> {
            if (ctx.channel().isActive()) {
                next.run();
            } else {
                release(ticket);
            }
        };
        if (ctx.executor().inEventLoop()) {
            guarded.run();
        } else {
            ctx.executor().execute(guarded);
        }
    }

    private void upgrade(ChannelHandlerContext ctx, HttpRequest request, Handshake handshake) {
        HttpHeaders headers = request.headers();
        if (!headers.containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true)) {
            // after the token's check: a browser client asks with a plain GET whether its failed
            // handshake was a refused token (401)
            release(handshake.ticket());
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, null, "Not a WebSocket upgrade");
            return;
        }
        FullHttpRequest full = new DefaultFullHttpRequest(request.protocolVersion(), request.method(), request.uri(),
                Unpooled.EMPTY_BUFFER, headers, EmptyHttpHeaders.INSTANCE);
        WebSocketServerHandshaker handshaker = handshakers.newHandshaker(full);
        if (handshaker == null) {
            release(handshake.ticket());
            WebSocketServerHandshakerFactory.sendUnsupportedVersionResponse(ctx.channel())
                    .addListener(ChannelFutureListener.CLOSE);
            return;
        }
        // permessage-deflate without server context takeover, so that a batch is compressed once for all
        WebSocketServerExtension extension = negotiate(headers.getAll(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS));
        HttpHeaders responseHeaders = new DefaultHttpHeaders();
        if (extension != null) {
            responseHeaders.set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, format(extension.newReponseData()));
        }
        Channel channel = ctx.channel();
        ChannelPipeline pipeline = ctx.pipeline();
        for (String name : HTTP_HANDLERS) {
            if (pipeline.get(name) != null) {
                pipeline.remove(name);
            }
        }
        try {
            handshaker.handshake(channel, full, responseHeaders, channel.newPromise()).addListener(done -> {
                if (!done.isSuccess() || !channel.isActive()) {
                    release(handshake.ticket());
                    channel.close();
                    return;
                }
                // the WebSocket decoder, then the extension's, then the frame aggregator, then the connection
                String after = "wsdecoder";
                if (extension != null) {
                    pipeline.addAfter(after, "danmaku.ws.deflate.decoder", extension.newExtensionDecoder());
                    pipeline.addAfter(after, "danmaku.ws.deflate.encoder", extension.newExtensionEncoder());
                    after = "danmaku.ws.deflate.decoder";
                }
                pipeline.addAfter(after, FRAME_AGGREGATOR, new WebSocketFrameAggregator(maxFrameBytes));
                pipeline.remove(NAME);
                handler.open(channel, handshaker.selectedSubprotocol(), handshake);
                channel.config().setAutoRead(true);
            });
        } catch (WebSocketHandshakeException e) {
            release(handshake.ticket());
            refuse(ctx, HttpResponseStatus.BAD_REQUEST, null, e.getMessage());
        }
    }

    private @Nullable WebSocketServerExtension negotiate(List<String> offered) {
        String offers = DeflateOffers.serverNoContext(offered);
        if (offers == null) {
            return null;
        }
        for (WebSocketExtensionData offer : WebSocketExtensionUtil.extractExtensions(offers)) {
            WebSocketServerExtension accepted = deflate.handshakeExtension(offer);
            if (accepted != null) {
                return accepted;
            }
        }
        return null;
    }

    private static String format(WebSocketExtensionData data) {
        StringBuilder value = new StringBuilder(data.name());
        data.parameters().forEach((key, parameter) -> {
            value.append("; ").append(key);
            if (parameter != null) {
                value.append('=').append(parameter);
            }
        });
        return value.toString();
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

    private static @Nullable String bearer(HttpHeaders headers) {
        String header = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) && header.length() > 7) {
            return header.substring(7).trim();
        }
        return null;
    }

    private static void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, @Nullable String authenticate) {
        refuse(ctx, status, authenticate, null);
    }

    /** Answers the request with this status (and text), then closes the socket. */
    private static void refuse(ChannelHandlerContext ctx, HttpResponseStatus status, @Nullable String authenticate,
                               @Nullable String text) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                text == null ? Unpooled.EMPTY_BUFFER : Unpooled.copiedBuffer(text, CharsetUtil.UTF_8));
        response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        if (text != null) {
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        }
        if (authenticate != null) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, authenticate);
        }
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
