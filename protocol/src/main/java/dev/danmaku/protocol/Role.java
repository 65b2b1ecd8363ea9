package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** A user's role, from the token's {@code role} claim. */
public enum Role {
    VIEWER, STREAMER, MODERATOR, ADMIN;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Role fromWire(String wire) {
        for (Role role : values()) {
            if (role.wire().equals(wire)) {
                return role;
            }
        }
        throw ProtocolException.badRequest("role must be viewer, streamer, moderator or admin");
    }
}
