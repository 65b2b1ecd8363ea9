package dev.danmaku.protocol;

import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The fixed shape rules of the protocol (identifiers, colours, ranges). They are checked in
 * the compact constructors of the frames, so an invalid frame cannot exist. Configurable
 * limits (text length, rooms per connection, rates) live in {@link Limits}.
 */
public final class Rules {

    /** Room ids and message ids: 1..64 characters of {@code [A-Za-z0-9_-]}. */
    public static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
    public static final Pattern COLOR = Pattern.compile("#[0-9a-fA-F]{6}");
    public static final String DEFAULT_COLOR = "#ffffff";
    public static final int MAX_LIKES_PER_FRAME = 50;
    public static final int MAX_GIFTS_PER_FRAME = 999;
    public static final int MAX_MUTE_SECONDS = 30 * 24 * 3600;
    /** The longest slow-mode interval a streamer may set (an hour). */
    public static final int MAX_SLOW_MODE_SECONDS = 3600;
    public static final int MAX_NAME_LENGTH = 32;

    private Rules() {
    }

    public static String room(@Nullable String room) {
        return matching(room, ID, "room");
    }

    public static String messageId(@Nullable String id) {
        return matching(id, ID, "id");
    }

    public static String userId(@Nullable String user) {
        if (user == null || user.isEmpty() || user.length() > 64 || hasControl(user)) {
            throw ProtocolException.badRequest("user must be 1..64 characters");
        }
        return user;
    }

    public static String color(@Nullable String color) {
        if (color == null) {
            return DEFAULT_COLOR;
        }
        return matching(color, COLOR, "color").toLowerCase(java.util.Locale.ROOT);
    }

    public static int inRange(@Nullable Integer value, int min, int max, String field) {
        if (value == null) {
            throw ProtocolException.badRequest(field + " is required");
        }
        if (value < min || value > max) {
            throw ProtocolException.badRequest(field + " must be " + min + ".." + max);
        }
        return value;
    }

    public static <T> T required(@Nullable T value, String field) {
        if (value == null) {
            throw ProtocolException.badRequest(field + " is required");
        }
        return value;
    }

    private static String matching(@Nullable String value, Pattern pattern, String field) {
        if (value == null) {
            throw ProtocolException.badRequest(field + " is required");
        }
        if (!pattern.matcher(value).matches()) {
            throw ProtocolException.badRequest(field + " must match " + pattern.pattern());
        }
        return value;
    }

    /** True when the text holds a C0/C1 control character (tabs and newlines included). */
    public static boolean hasControl(CharSequence text) {
        for (int i = 0; i < text.length(); i++) {
            if (Character.getType(text.charAt(i)) == Character.CONTROL) {
                return true;
            }
        }
        return false;
    }
}
