package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;

/**
 * What the handshake hands to the connection, as the upgraded session's principal: the verified
 * identity (none: anonymous), the per-IP ticket to give back at the end, the Netty channel, to
 * drop a peer that stopped reading, and the {@code room} and {@code since} query parameters (the
 * shorthand join), decoded, so that the connection need not keep the request's URI.
 */
record Handshake(@Nullable Identity identity, ConnectionCap.@Nullable Ticket ticket, @Nullable Channel channel,
                 @Nullable String room, @Nullable String since) implements java.security.Principal {

    /** No identity, ticket, channel or shorthand join. */
    static final Handshake NONE = new Handshake(null, null, null, null, null);

    @Override
    public String getName() {
        return identity == null ? "anonymous" : identity.getName();
    }
}
