package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Every {@code error.code} the service may send, with its default message. Nothing else
 * invents an error code: a new one is added here and in {@code docs/protocol.md}.
 */
public enum ErrorCode {
    /** The frame is not valid JSON/CBOR, has an unknown {@code type}, or a field is missing or invalid. */
    BAD_REQUEST("bad_request", "malformed or invalid frame"),
    /** A comment's text is longer than {@link Limits#maxTextLength()}. */
    TOO_LONG("too_long", "text is too long"),
    /** The sender exceeded a rate limit; {@code retryAfterMs} tells when to try again. */
    RATE_LIMITED("rate_limited", "too many messages"),
    /** Sending needs a valid token; the connection has none or it expired. */
    UNAUTHORIZED("unauthorized", "a valid token is required"),
    /** The token is valid but its role or rooms do not allow this. */
    FORBIDDEN("forbidden", "not allowed"),
    /** The sender is muted in this room. */
    MUTED("muted", "you are muted in this room"),
    /** The gift id is not in the catalogue. */
    UNKNOWN_GIFT("unknown_gift", "no such gift"),
    /** The connection already joined the maximum number of rooms. */
    TOO_MANY_ROOMS("too_many_rooms", "too many rooms joined"),
    /** The broker is unreachable or did not acknowledge in time: retry later. */
    UNAVAILABLE("unavailable", "service temporarily unavailable, retry later");

    private final String wire;
    private final String defaultMessage;

    ErrorCode(String wire, String defaultMessage) {
        this.wire = wire;
        this.defaultMessage = defaultMessage;
    }

    /** The code as it appears on the wire, e.g. {@code rate_limited}. */
    @JsonValue
    public String wire() {
        return wire;
    }

    public String defaultMessage() {
        return defaultMessage;
    }

    @JsonCreator
    public static ErrorCode fromWire(String wire) {
        for (ErrorCode code : values()) {
            if (code.wire.equals(wire)) {
                return code;
            }
        }
        throw new IllegalArgumentException("unknown error code: " + wire);
    }
}
