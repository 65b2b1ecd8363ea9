package dev.danmaku.gateway.auth;

import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.User;
import java.security.Principal;
import java.time.Instant;
import java.util.Set;

/**
 * Who a connection's token says its user is; the handshake's principal.
 *
 * @param user      id ({@code sub}), display name and role
 * @param rooms     the rooms a streamer or moderator may moderate ({@code rooms} claim)
 * @param expiresAt when the token expires; sends after it are refused as unauthorized
 */
public record Identity(User user, Set<String> rooms, Instant expiresAt) implements Principal {

    public Identity {
        rooms = Set.copyOf(rooms);
    }

    /** Admins moderate every room; streamers and moderators the rooms of their token. */
    public boolean canModerate(String room) {
        Role role = user.role();
        return role == Role.ADMIN
                || ((role == Role.STREAMER || role == Role.MODERATOR) && rooms.contains(room));
    }

    /** Slow mode is the room's streamer's (the rooms of their token) and admins'. */
    public boolean canSetSlowMode(String room) {
        Role role = user.role();
        return role == Role.ADMIN || (role == Role.STREAMER && rooms.contains(room));
    }

    /**
     * The user as they act in {@code room}, as written into their ingress records: a streamer's or
     * moderator's role only in the rooms of their token (elsewhere a viewer), so that the
     * aggregator's density priority and the role shown beside a comment follow {@code rooms}.
     */
    public User userIn(String room) {
        Role role = user.role();
        if ((role == Role.STREAMER || role == Role.MODERATOR) && !rooms.contains(room)) {
            return new User(user.id(), user.name(), Role.VIEWER);
        }
        return user;
    }

    /** The user id, as a {@link Principal}'s name. */
    @Override
    public String getName() {
        return user.id();
    }

    public boolean isExpired(Instant now) {
        return !now.isBefore(expiresAt);
    }
}
