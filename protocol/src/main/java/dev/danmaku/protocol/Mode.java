package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/** Where a comment flies: across the screen (default), or fixed at the top or bottom. */
public enum Mode {
    SCROLL, TOP, BOTTOM;

    @JsonValue
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static Mode fromWire(String wire) {
        for (Mode mode : values()) {
            if (mode.wire().equals(wire)) {
                return mode;
            }
        }
        throw ProtocolException.badRequest("mode must be scroll, top or bottom");
    }
}
