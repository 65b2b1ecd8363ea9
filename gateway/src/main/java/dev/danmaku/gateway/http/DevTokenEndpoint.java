package dev.danmaku.gateway.http;

import dev.danmaku.gateway.auth.JwtTokens;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.User;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import org.springframework.web.server.ServerWebInputException;
import reactor.core.publisher.Mono;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code POST /api/dev/tokens} with {@code {"name":"Alice","role":"viewer","rooms":[]}} answers
 * {@code {"token":"…","user":{…}}}: a signed token for a new user id (the name made into a slug
 * plus a random suffix). Only in dev mode; otherwise the path is 404, as if it did not exist.
 */
public final class DevTokenEndpoint {

    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
    /**
     * The body's reader, its deserializer built here, at start-up: built by the first requests
     * instead, under Jackson's lock, on the event loops, concurrent first requests waited for one
     * another (and, under BlockHound, failed; they were answered 400).
     */
    private static final ObjectReader BODY = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build()
            .readerFor(TokenRequest.class);

    private final JwtTokens tokens;
    private final boolean devMode;
    private final Duration ttl;

    /** The request body; every field is optional except {@code name}. */
    record TokenRequest(@Nullable String name, @Nullable String role, @Nullable List<String> rooms) {
    }

    public DevTokenEndpoint(JwtTokens tokens, boolean devMode, Duration ttl) {
        this.tokens = tokens;
        this.devMode = devMode;
        this.ttl = ttl;
    }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route().POST("/api/dev/tokens", this::issue).build();
    }

    private Mono<ServerResponse> issue(ServerRequest request) {
        if (!devMode) {
            return ServerResponse.notFound().build();
        }
        return request.bodyToMono(byte[].class)
                .switchIfEmpty(Mono.error(() -> ProtocolException.badRequest("a JSON body is required")))
                .flatMap(bytes -> {
                    TokenRequest body = BODY.readValue(bytes);
                    if (body == null) {
                        throw ProtocolException.badRequest("a JSON body is required");
                    }
                    Role role = body.role() == null ? Role.VIEWER : Role.fromWire(body.role());
                    Set<String> rooms = new LinkedHashSet<>();
                    for (String room : body.rooms() == null ? List.<String>of() : body.rooms()) {
                        rooms.add(Rules.room(room));
                    }
                    String name = Rules.required(body.name(), "name").strip();
                    User user = new User(userId(name), name, role);
                    return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
                            .bodyValue(Map.of("token", tokens.issue(user, rooms, ttl), "user", user));
                })
                // only what is wrong with the request is a 400; anything else is the server's (500)
                .onErrorResume(e -> e instanceof ProtocolException || e instanceof JacksonException
                                || e instanceof ServerWebInputException,
                        e -> ServerResponse.badRequest().contentType(MediaType.APPLICATION_JSON)
                                .bodyValue(Map.of("code", ErrorCode.BAD_REQUEST.wire(), "message",
                                        e instanceof ProtocolException ? String.valueOf(e.getMessage())
                                                : "the body must be {\"name\",\"role\",\"rooms\"}")));
    }

    /** A readable, unique-enough id: the name's slug and six random characters. */
    private String userId(String name) {
        String slug = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("(^-+|-+$)", "");
        if (slug.length() > 20) {
            slug = slug.substring(0, 20);
        }
        StringBuilder id = new StringBuilder(slug.isEmpty() ? "user" : slug).append('-');
        ThreadLocalRandom random = ThreadLocalRandom.current(); // not a secret: SecureRandom may block
        for (int i = 0; i < 6; i++) {
            id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
        return id.toString();
    }
}
