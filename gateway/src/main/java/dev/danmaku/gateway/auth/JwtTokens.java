package dev.danmaku.gateway.auth;

import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.User;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.MacAlgorithm;
import org.springframework.security.oauth2.jwt.JwsHeader;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtClaimNames;
import org.springframework.security.oauth2.jwt.JwtClaimValidator;
import org.springframework.security.oauth2.jwt.JwtClaimsSet;
import org.springframework.security.oauth2.jwt.JwtEncoderParameters;
import org.springframework.security.oauth2.jwt.JwtException;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;
import org.springframework.security.oauth2.jwt.NimbusJwtEncoder;
import org.springframework.security.oauth2.jwt.NimbusReactiveJwtDecoder;
import reactor.core.publisher.Mono;

/**
 * HS256 JWTs (Spring Security's Nimbus decoder and encoder): claims {@code sub}, {@code name},
 * {@code role}, {@code rooms}, {@code exp}. The key is the UTF-8 bytes of the configured secret.
 * Thread-safe.
 */
public final class JwtTokens implements TokenVerifier {

    /** The secret used in dev mode when none is configured. Public, so never for production. */
    public static final String DEV_SECRET = "danmaku-dev-mode-secret-do-not-use-in-production";
    public static final int MIN_SECRET_BYTES = 32;

    private static final Logger log = LoggerFactory.getLogger(JwtTokens.class);
    private static final MacAlgorithm ALGORITHM = MacAlgorithm.HS256;

    private final NimbusReactiveJwtDecoder decoder;
    private final NimbusJwtEncoder encoder;
    private final Clock clock;

    public JwtTokens(String secret, Clock clock) {
        SecretKey key = key(secret);
        this.clock = clock;
        this.decoder = NimbusReactiveJwtDecoder.withSecretKey(key).macAlgorithm(ALGORITHM).build();
        JwtTimestampValidator timestamps = new JwtTimestampValidator(Duration.ofSeconds(30));
        timestamps.setClock(clock);
        this.decoder.setJwtValidator(new DelegatingOAuth2TokenValidator<>(timestamps,
                new JwtClaimValidator<Instant>(JwtClaimNames.EXP, exp -> exp != null),
                new JwtClaimValidator<String>(JwtClaimNames.SUB, sub -> sub != null && !sub.isBlank())));
        this.encoder = NimbusJwtEncoder.withSecretKey(key).algorithm(ALGORITHM).build();
    }

    /**
     * The secret to use: the configured one, or in dev mode without one {@link #DEV_SECRET}
     * (with a warning).
     *
     * @throws IllegalStateException when there is none outside dev mode, or it is too short
     */
    public static String resolveSecret(@Nullable String configured, boolean devMode) {
        if (configured == null || configured.isEmpty()) {
            if (!devMode) {
                throw new IllegalStateException("No JWT secret: set danmaku.auth.jwt-secret (env "
                        + "DANMAKU_AUTH_JWT_SECRET, at least " + MIN_SECRET_BYTES + " bytes), "
                        + "or turn on dev mode (DANMAKU_DEV_MODE=true) to use the fixed dev secret");
            }
            log.warn("Dev mode without danmaku.auth.jwt-secret: using the fixed, public dev secret. "
                    + "Anyone can mint tokens for this gateway.");
            return DEV_SECRET;
        }
        key(configured);
        return configured;
    }

    private static SecretKey key(String secret) {
        byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
        if (bytes.length < MIN_SECRET_BYTES) {
            throw new IllegalStateException("danmaku.auth.jwt-secret must be at least " + MIN_SECRET_BYTES
                    + " bytes (UTF-8), it has " + bytes.length);
        }
        return new SecretKeySpec(bytes, "HmacSHA256");
    }

    @Override
    public Mono<Identity> verify(String token) {
        return decoder.decode(token)
                .map(JwtTokens::identity)
                .onErrorMap(e -> !(e instanceof InvalidTokenException),
                        e -> new InvalidTokenException("invalid token: " + e.getMessage(), e));
    }

    /** Signs a token for a user, valid for {@code ttl}. */
    public String issue(User user, Set<String> rooms, Duration ttl) {
        Instant now = clock.instant();
        Role role = user.role() == null ? Role.VIEWER : user.role();
        JwtClaimsSet claims = JwtClaimsSet.builder()
                .subject(user.id())
                .claim("name", user.name())
                .claim("role", role.wire())
                .claim("rooms", List.copyOf(rooms))
                .issuedAt(now)
                .expiresAt(now.plus(ttl))
                .build();
        JwsHeader header = JwsHeader.with(ALGORITHM).build();
        return encoder.encode(JwtEncoderParameters.from(header, claims)).getTokenValue();
    }

    private static Identity identity(Jwt jwt) {
        try {
            String sub = jwt.getSubject();
            String name = jwt.getClaimAsString("name");
            String roleClaim = jwt.getClaimAsString("role");
            Role role = roleClaim == null ? Role.VIEWER : Role.fromWire(roleClaim);
            List<String> roomClaim = jwt.hasClaim("rooms") ? jwt.getClaimAsStringList("rooms") : List.of();
            Set<String> rooms = new LinkedHashSet<>();
            for (String room : roomClaim) {
                rooms.add(Rules.room(room));
            }
            User user = new User(sub, name == null ? sub : name, role);
            return new Identity(user, rooms, jwt.getExpiresAt());
        } catch (ProtocolException | JwtException | IllegalArgumentException | NullPointerException e) {
            throw new InvalidTokenException("invalid claims: " + e.getMessage(), e);
        }
    }
}
