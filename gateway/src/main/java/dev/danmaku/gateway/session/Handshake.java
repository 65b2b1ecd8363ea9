package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import io.netty.channel.Channel;
import org.jspecify.annotations.Nullable;

/**
 * What the handshake hands to the connection, as the upgraded session's principal (Spring copies
 * exchange attributes into a WebSocket session only from an HTTP session, which the gateway does
 * not keep): the verified identity (none: anonymous), the per-IP ticket to give back at the end,
 * and the Netty channel, to drop a peer that stopped reading.
 */
record Handshake(@Nullable Identity identity, ConnectionCap.@Nullable Ticket ticket, @Nullable Channel channel)
        implements java.security.Principal {

    @Override
    public String getName() {
        return identity == null ? "anonymous" : identity.getName();
    }
}
