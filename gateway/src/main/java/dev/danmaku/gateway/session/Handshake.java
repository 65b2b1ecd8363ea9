package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import org.jspecify.annotations.Nullable;

/**
 * What the handshake hands to the connection: the verified identity (none: anonymous), the
 * per-IP ticket to give back at the end, and the {@code room} and {@code since} query parameters
 * (the shorthand join), decoded, so that the connection need not keep the request's URI.
 */
record Handshake(@Nullable Identity identity, ConnectionCap.@Nullable Ticket ticket,
                 @Nullable String room, @Nullable String since) {
}
