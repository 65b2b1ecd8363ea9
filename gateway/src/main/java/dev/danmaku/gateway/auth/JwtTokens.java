package dev.danmaku.gateway.auth;

import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.User;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.JWTParser;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
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
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.jose.jws.MacAlgorithm;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
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
 * JWTs (Spring Security's Nimbus decoders and encoder): claims {@code sub}, {@code name},
 * {@code role}, {@code rooms}, {@code exp}. HS256 with the UTF-8 bytes of the configured secret
 * (which also signs the dev tokens), and/or, with a JWK set URI, the asymmetric algorithms
 * (RS256/384/512, ES256/384/512, PS256/384/512) with the identity provider's public keys, fetched
 * without blocking and cached (fetched again for a key id not seen yet). A token signed HS256 goes
 * to the secret, any other to the JWK set. Thread-safe.
 */
public final class JwtTokens implements TokenVerifier {

    /** The secret used in dev mode when none is configured. Public, so never for production. */
    public static final String DEV_SECRET = "danmaku-dev-mode-secret-do-not-use-in-production";
    public static final int MIN_SECRET_BYTES = 32;

    private static final Logger log = LoggerFactory.getLogger(JwtTokens.class);
    private static final MacAlgorithm ALGORITHM = MacAlgorithm.HS256;
    /** What a JWK set's keys may sign with. */
    private static final Set<SignatureAlgorithm> ASYMMETRIC = Set.of(SignatureAlgorithm.RS256,
            SignatureAlgorithm.RS384, SignatureAlgorithm.RS512, SignatureAlgorithm.ES256, SignatureAlgorithm.ES384,
            SignatureAlgorithm.ES512, SignatureAlgorithm.PS256, SignatureAlgorithm.PS384, SignatureAlgorithm.PS512);

    private final @Nullable NimbusReactiveJwtDecoder decoder;
    private final @Nullable NimbusJwtEncoder encoder;
    private final @Nullable NimbusReactiveJwtDecoder jwkDecoder;
    private final Clock clock;

    public JwtTokens(String secret, Clock clock) {
        this(secret, null, clock);
    }

    /**
     * @param secret    the HS256 secret, or null to accept only tokens of the JWK set
     * @param jwkSetUri the identity provider's JWK set, or null
     */
    public JwtTokens(@Nullable String secret, @Nullable URI jwkSetUri, Clock clock) {
        if (secret == null && jwkSetUri == null) {
            throw new IllegalArgumentException("a JWT secret or a JWK set URI is required");
        }
        this.clock = clock;
        if (secret != null) {
            SecretKey key = key(secret);
            this.decoder = NimbusReactiveJwtDecoder.withSecretKey(key).macAlgorithm(ALGORITHM).build();
            this.decoder.setJwtValidator(validator(clock));
            this.encoder = NimbusJwtEncoder.withSecretKey(key).algorithm(ALGORITHM).build();
        } else {
            this.decoder = null;
            this.encoder = null;
        }
        if (jwkSetUri != null) {
            this.jwkDecoder = NimbusReactiveJwtDecoder.withJwkSetUri(jwkSetUri.toString())
                    .jwsAlgorithms(algorithms -> algorithms.addAll(ASYMMETRIC)).build();
            this.jwkDecoder.setJwtValidator(validator(clock));
        } else {
            this.jwkDecoder = null;
        }
    }

    private static OAuth2TokenValidator<Jwt> validator(Clock clock) {
        JwtTimestampValidator timestamps = new JwtTimestampValidator(Duration.ofSeconds(30));
        timestamps.setClock(clock);
        return new DelegatingOAuth2TokenValidator<>(timestamps,
                new JwtClaimValidator<Instant>(JwtClaimNames.EXP, exp -> exp != null),
                new JwtClaimValidator<String>(JwtClaimNames.SUB, sub -> sub != null && !sub.isBlank()));
    }

    /**
     * The secret to use: the configured one, or in dev mode without one {@link #DEV_SECRET}
     * (with a warning).
     *
     * @throws IllegalStateException when there is none outside dev mode, or it is too short
     */
    public static String resolveSecret(@Nullable String configured, boolean devMode) {
        String secret = resolveSecret(configured, devMode, false);
        if (secret == null) {
            throw new IllegalStateException("no secret");
        }
        return secret;
    }

    /**
     * As {@link #resolveSecret(String, boolean)}, but with a JWK set ({@code hasJwkSet}) the
     * secret is optional outside dev mode: null when none is configured.
     */
    public static @Nullable String resolveSecret(@Nullable String configured, boolean devMode, boolean hasJwkSet) {
        if (configured == null || configured.isEmpty()) {
            if (hasJwkSet && !devMode) {
                return null;
            }
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
        NimbusReactiveJwtDecoder chosen;
        try {
            boolean hmac = JWSAlgorithm.HS256.equals(JWTParser.parse(token).getHeader().getAlgorithm());
            chosen = hmac || jwkDecoder == null ? decoder : jwkDecoder;
        } catch (ParseException | RuntimeException e) {
            return Mono.error(new InvalidTokenException("invalid token: " + e.getMessage(), e));
        }
        if (chosen == null) {
            return Mono.error(new InvalidTokenException("invalid token: HS256 is not accepted here (no secret)"));
        }
        return chosen.decode(token)
                .map(JwtTokens::identity)
                .onErrorMap(e -> !(e instanceof InvalidTokenException),
                        e -> new InvalidTokenException("invalid token: " + e.getMessage(), e));
    }

    /** Signs a token for a user, valid for {@code ttl}. */
    public String issue(User user, Set<String> rooms, Duration ttl) {
        if (encoder == null) {
            throw new IllegalStateException("no JWT secret to sign with (only a JWK set is configured)");
        }
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
