package dev.danmaku.gateway.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.User;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import reactor.test.StepVerifier;

class JwtTokensTest {

    private static final String SECRET = "0123456789abcdef0123456789abcdef-test";
    private static final Duration VERIFY = Duration.ofSeconds(5);
    private final Instant now = Instant.now();
    private final JwtTokens tokens = new JwtTokens(SECRET, Clock.fixed(now, ZoneOffset.UTC));

    private static String sign(String secret, JWTClaimsSet claims) throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader(JWSAlgorithm.HS256), claims);
        jwt.sign(new MACSigner(secret.getBytes(StandardCharsets.UTF_8)));
        return jwt.serialize();
    }

    private JWTClaimsSet.Builder claims() {
        return new JWTClaimsSet.Builder().subject("u1").claim("name", "Alice").claim("role", "moderator")
                .claim("rooms", List.of("r1", "r2")).expirationTime(Date.from(now.plusSeconds(600)));
    }

    @Test
    void anIssuedTokenVerifiesToTheSameIdentity() {
        String token = tokens.issue(new User("u1", "Alice", Role.STREAMER), Set.of("r1"), Duration.ofHours(24));
        StepVerifier.create(tokens.verify(token))
                .assertNext(identity -> {
                    assertThat(identity.user()).isEqualTo(new User("u1", "Alice", Role.STREAMER));
                    assertThat(identity.rooms()).containsExactly("r1");
                    assertThat(identity.expiresAt()).isAfter(now.plus(Duration.ofHours(23)));
                    assertThat(identity.canModerate("r1")).isTrue();
                    assertThat(identity.canModerate("r2")).isFalse();
                })
                .expectComplete()
                .verify(VERIFY);
    }

    @Test
    void readsTheClaimsOfATokenSignedElsewhere() throws Exception {
        StepVerifier.create(tokens.verify(sign(SECRET, claims().build())))
                .assertNext(identity -> {
                    assertThat(identity.user()).isEqualTo(new User("u1", "Alice", Role.MODERATOR));
                    assertThat(identity.rooms()).containsExactlyInAnyOrder("r1", "r2");
                })
                .expectComplete()
                .verify(VERIFY);
    }

    @Test
    void aTokenWithoutNameOrRoleIsAViewerNamedAfterItsSubject() throws Exception {
        JWTClaimsSet minimal = new JWTClaimsSet.Builder().subject("u7")
                .expirationTime(Date.from(now.plusSeconds(600))).build();
        StepVerifier.create(tokens.verify(sign(SECRET, minimal)))
                .assertNext(identity -> assertThat(identity.user()).isEqualTo(new User("u7", "u7", Role.VIEWER)))
                .expectComplete()
                .verify(VERIFY);
    }

    @Test
    void invalidTokensAreRefused() throws Exception {
        List<String> invalid = List.of(
                "not.a.jwt",
                sign("another-secret-another-secret-another", claims().build()),
                sign(SECRET, claims().expirationTime(Date.from(now.minusSeconds(120))).build()),
                sign(SECRET, claims().expirationTime(null).build()),
                sign(SECRET, claims().claim("role", "emperor").build()),
                sign(SECRET, claims().claim("rooms", List.of("bad room")).build()),
                sign(SECRET, claims().subject(null).build()));
        for (String token : invalid) {
            StepVerifier.create(tokens.verify(token)).expectError(InvalidTokenException.class).verify(VERIFY);
        }
    }

    @Test
    void theSecretIsRequiredOutsideDevModeAndMustBeLongEnough() {
        assertThatThrownBy(() -> JwtTokens.resolveSecret(null, false))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("DANMAKU_AUTH_JWT_SECRET");
        assertThatThrownBy(() -> JwtTokens.resolveSecret("short", true))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("at least 32 bytes");
        assertThat(JwtTokens.resolveSecret(null, true)).isEqualTo(JwtTokens.DEV_SECRET);
        assertThat(JwtTokens.resolveSecret(SECRET, false)).isEqualTo(SECRET);
    }

    @Test
    void aStreamerOrModeratorActsAsSuchOnlyInTheRoomsOfTheirToken() {
        Identity moderator = new Identity(new User("u1", "Alice", Role.MODERATOR), Set.of("r1"), now.plusSeconds(60));
        assertThat(moderator.userIn("r1").role()).isEqualTo(Role.MODERATOR);
        assertThat(moderator.userIn("r2")).isEqualTo(new User("u1", "Alice", Role.VIEWER));
        Identity streamer = new Identity(new User("u2", "Bo", Role.STREAMER), Set.of("r1"), now.plusSeconds(60));
        assertThat(streamer.userIn("r2").role()).isEqualTo(Role.VIEWER);
        Identity admin = new Identity(new User("u3", "Cy", Role.ADMIN), Set.of(), now.plusSeconds(60));
        assertThat(admin.userIn("r2").role()).isEqualTo(Role.ADMIN);
    }

    @Test
    void withAJwkSetTheSecretIsOptionalOutsideDevMode() {
        assertThat(JwtTokens.resolveSecret(null, false, true)).isNull();
        assertThat(JwtTokens.resolveSecret(null, true, true)).isEqualTo(JwtTokens.DEV_SECRET);
        assertThat(JwtTokens.resolveSecret(SECRET, false, true)).isEqualTo(SECRET);
        assertThatThrownBy(() -> new JwtTokens(null, null, Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class);
        JwtTokens jwkOnly = new JwtTokens(null, URI.create("http://127.0.0.1:1/jwks.json"), Clock.systemUTC());
        assertThatThrownBy(() -> jwkOnly.issue(new User("u1", "U", Role.VIEWER), Set.of(), Duration.ofMinutes(1)))
                .isInstanceOf(IllegalStateException.class);
        StepVerifier.create(jwkOnly.verify(tokens.issue(new User("u1", "U", Role.VIEWER), Set.of(), Duration.ofMinutes(1))))
                .expectError(InvalidTokenException.class).verify(VERIFY);
    }

    @Test
    void withBothAnHs256TokenGoesToTheSecretAndAnRs256OneToTheJwkSet() throws Exception {
        // the JWK set is unreachable: an HS256 token never needs it; an RS256 one fails on it
        JwtTokens both = new JwtTokens(SECRET, URI.create("http://127.0.0.1:1/jwks.json"),
                Clock.fixed(now, ZoneOffset.UTC));
        StepVerifier.create(both.verify(sign(SECRET, claims().build())))
                .assertNext(identity -> assertThat(identity.user().name()).isEqualTo("Alice"))
                .expectComplete().verify(VERIFY);
        RSAKey rsa = new RSAKeyGenerator(2048).keyID("k1").generate();
        SignedJWT rs256 = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(), claims().build());
        rs256.sign(new RSASSASigner(rsa));
        StepVerifier.create(both.verify(rs256.serialize())).expectError(InvalidTokenException.class)
                .verify(Duration.ofSeconds(30));
        // and the secret alone refuses it
        StepVerifier.create(tokens.verify(rs256.serialize())).expectError(InvalidTokenException.class).verify(VERIFY);
    }
}
