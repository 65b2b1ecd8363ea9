package dev.danmaku.gateway.http;

import dev.danmaku.gateway.auth.InvalidTokenException;
import dev.danmaku.gateway.auth.TokenVerifier;
import dev.danmaku.gateway.session.HttpSends;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Rules;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * {@code POST /api/rooms/{room}/comments}, {@code /likes}, {@code /gifts} with
 * {@code Authorization: Bearer}: the WebSocket's sends for clients without one. The body is the
 * frame without {@code type} and {@code room}. Answers {@code 202 {"id":...}} once the broker
 * stored the send, or {@code {"code","message"}} with 400 (invalid, unknown gift), 401 (no,
 * bad or expired token), 403 (a browser from an origin not allowed), 429 (rate limited, with
 * {@code Retry-After} in seconds and {@code retryAfterMs}) or 503 (broker unavailable, with
 * {@code Retry-After}).
 */
public final class SendEndpoints {

    private final HttpSends sends;
    private final TokenVerifier tokens;
    private final List<String> allowedOrigins;

    public SendEndpoints(HttpSends sends, TokenVerifier tokens, List<String> allowedOrigins) {
        this.sends = sends;
        this.tokens = tokens;
        this.allowedOrigins = List.copyOf(allowedOrigins);
    }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route()
                .POST("/api/rooms/{room}/comments", request -> send(request, HttpSends.Kind.COMMENTS))
                .POST("/api/rooms/{room}/likes", request -> send(request, HttpSends.Kind.LIKES))
                .POST("/api/rooms/{room}/gifts", request -> send(request, HttpSends.Kind.GIFTS))
                .build();
    }

    private Mono<ServerResponse> send(ServerRequest request, HttpSends.Kind kind) {
        // the body is read before any answer: a client on a kept-alive connection would otherwise
        // hang on its next request behind the unread body
        return request.bodyToMono(byte[].class).defaultIfEmpty(new byte[0])
                .flatMap(body -> send(request, kind, body));
    }

    private Mono<ServerResponse> send(ServerRequest request, HttpSends.Kind kind, byte[] body) {
        String origin = request.headers().firstHeader(HttpHeaders.ORIGIN);
        if (origin != null && !allowedOrigins.isEmpty() && !allowedOrigins.contains(origin)) {
            return error(HttpStatus.FORBIDDEN, ErrorCode.FORBIDDEN, "origin not allowed", 0);
        }
        String room = request.pathVariable("room");
        try {
            Rules.room(room);
        } catch (ProtocolException e) {
            return error(HttpStatus.BAD_REQUEST, e.code(), String.valueOf(e.getMessage()), 0);
        }
        String header = request.headers().firstHeader(HttpHeaders.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7) || header.length() <= 7) {
            return unauthorized();
        }
        return tokens.verify(header.substring(7).trim())
                .flatMap(identity -> sends.send(identity, room, kind, body))
                .flatMap(this::answer)
                .onErrorResume(InvalidTokenException.class, e -> unauthorized());
    }

    private Mono<ServerResponse> answer(HttpSends.Outcome outcome) {
        if (outcome instanceof HttpSends.Accepted accepted) {
            Map<String, Object> body = new LinkedHashMap<>();
            if (accepted.id() != null) {
                body.put("id", accepted.id());
            }
            return ServerResponse.accepted().contentType(MediaType.APPLICATION_JSON).bodyValue(body);
        }
        HttpSends.Refused refused = (HttpSends.Refused) outcome;
        HttpStatus status = switch (refused.code()) {
            case UNAUTHORIZED -> HttpStatus.UNAUTHORIZED;
            case FORBIDDEN, MUTED -> HttpStatus.FORBIDDEN;
            case RATE_LIMITED -> HttpStatus.TOO_MANY_REQUESTS;
            case UNAVAILABLE -> HttpStatus.SERVICE_UNAVAILABLE;
            default -> HttpStatus.BAD_REQUEST;
        };
        return error(status, refused.code(), refused.message(), refused.retryAfterMs());
    }

    private static Mono<ServerResponse> unauthorized() {
        return ServerResponse.status(HttpStatus.UNAUTHORIZED)
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(Map.of("code", ErrorCode.UNAUTHORIZED.wire(), "message",
                        ErrorCode.UNAUTHORIZED.defaultMessage()));
    }

    private static Mono<ServerResponse> error(HttpStatus status, ErrorCode code, String message, long retryAfterMs) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("code", code.wire());
        body.put("message", message);
        ServerResponse.BodyBuilder response = ServerResponse.status(status).contentType(MediaType.APPLICATION_JSON);
        if (retryAfterMs > 0) {
            body.put("retryAfterMs", retryAfterMs);
            response.header(HttpHeaders.RETRY_AFTER, String.valueOf((retryAfterMs + 999) / 1000));
        }
        return response.bodyValue(body);
    }
}
