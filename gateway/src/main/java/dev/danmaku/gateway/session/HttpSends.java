package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.codec.FrameCodec;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The sends of clients without a WebSocket ({@code POST /api/rooms/{room}/comments|likes|gifts}):
 * the body is the WebSocket frame without {@code type} and {@code room}, checked by the same codec
 * and rules, rate limited per user with the same limits as a connection, and published the same
 * way. The outcome says what to answer; it never blocks.
 */
public final class HttpSends {

    /** Users whose rate limits are remembered; beyond, the least recently seen are forgotten. */
    static final int MAX_USERS = 100_000;

    private static final JsonMapper JSON = JsonMapper.builder().build();

    /** What became of one send. */
    public sealed interface Outcome {
    }

    /** Stored durably: {@code 202}, with the send's id when it has one. */
    public record Accepted(@Nullable String id) implements Outcome {
    }

    /** Refused (or not stored): the error code, and when to retry (0: not said). */
    public record Refused(ErrorCode code, String message, long retryAfterMs) implements Outcome {
    }

    /** The kinds of sends, by path segment. */
    public enum Kind {
        COMMENTS("comment"), LIKES("like"), GIFTS("gift");

        private final String type;

        Kind(String type) {
            this.type = type;
        }
    }

    private final ConnectionServices services;
    private final FrameCodec json;
    private final Map<String, SendLimiter> limiters = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, SendLimiter> eldest) {
            return size() > MAX_USERS;
        }
    };

    public HttpSends(ConnectionServices services, FrameCodec json) {
        this.services = services;
        this.json = json;
    }

    public Mono<Outcome> send(Identity identity, String room, Kind kind, byte[] body) {
        return attempt(identity, room, kind, body).doOnNext(outcome -> {
            if (outcome instanceof Refused refused) {
                services.metrics().refused(refused.code());
            }
        });
    }

    private Mono<Outcome> attempt(Identity identity, String room, Kind kind, byte[] body) {
        ClientFrame.RoomFrame frame;
        try {
            frame = decode(room, kind, body);
        } catch (ProtocolException e) {
            return Mono.just(new Refused(e.code(), String.valueOf(e.getMessage()), 0));
        }
        if (identity.isExpired(services.clock().instant())) {
            return Mono.just(refused(ErrorCode.UNAUTHORIZED, 0));
        }
        if (frame instanceof ClientFrame.Gift gift && !services.gifts().contains(gift.gift())) {
            return Mono.just(refused(ErrorCode.UNKNOWN_GIFT, 0));
        }
        SendLimiter limiter = limiter(identity.user().id());
        long retryAfterMs = frame instanceof ClientFrame.Comment ? limiter.tryComment() : limiter.trySend();
        if (retryAfterMs > 0) {
            return Mono.just(refused(ErrorCode.RATE_LIMITED, retryAfterMs));
        }
        Ingress ingress = new Ingress(services.settings().nodeId(), "http", identity.userIn(frame.room()),
                services.clock().millis(), frame);
        return services.ingress().publish(ingress)
                .<Outcome>thenReturn(new Accepted(frame.messageId()))
                .onErrorResume(e -> Mono.just(refused(ErrorCode.UNAVAILABLE, 1000)));
    }

    private ClientFrame.RoomFrame decode(String room, Kind kind, byte[] body) {
        if (body.length > services.settings().limits().maxFrameBytes()) {
            throw ProtocolException.badRequest("body over " + services.settings().limits().maxFrameBytes() + " bytes");
        }
        JsonNode node;
        try {
            node = body.length == 0 ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (JacksonException e) {
            throw ProtocolException.badRequest("not JSON");
        }
        if (!(node instanceof ObjectNode object)) {
            throw ProtocolException.badRequest("the body must be a JSON object");
        }
        object.put("type", kind.type);
        object.put("room", room);
        ClientFrame frame = json.decode(JSON.writeValueAsBytes(object)); // the WebSocket's checks, exactly
        if (!(frame instanceof ClientFrame.RoomFrame send)) {
            throw ProtocolException.badRequest("not a send");
        }
        return send;
    }

    private synchronized SendLimiter limiter(String user) {
        return limiters.computeIfAbsent(user, u -> new SendLimiter(services.settings(), services.timeMeter()));
    }

    private static Refused refused(ErrorCode code, long retryAfterMs) {
        return new Refused(code, code.defaultMessage(), retryAfterMs);
    }
}
