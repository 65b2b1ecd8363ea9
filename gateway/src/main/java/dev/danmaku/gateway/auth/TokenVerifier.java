package dev.danmaku.gateway.auth;

import reactor.core.publisher.Mono;

/** Checks a bearer token and tells who it is for. */
public interface TokenVerifier {

    /**
     * @return the token's identity, or an error {@link InvalidTokenException} when it is not valid
     * now. Does not block.
     */
    Mono<Identity> verify(String token);
}
