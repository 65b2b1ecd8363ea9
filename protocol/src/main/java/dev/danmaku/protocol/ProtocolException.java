package dev.danmaku.protocol;

import org.jspecify.annotations.Nullable;

/**
 * A frame broke a rule of the protocol. Carries the {@link ErrorCode} to answer with and,
 * when the frame had one, the client's message {@code id} so the answer can be correlated.
 */
public final class ProtocolException extends RuntimeException {

    private final ErrorCode code;
    private final @Nullable String id;

    public ProtocolException(ErrorCode code, String message) {
        this(code, message, null);
    }

    public ProtocolException(ErrorCode code, String message, @Nullable String id) {
        super(message, null, false, false);
        this.code = code;
        this.id = id;
    }

    public ErrorCode code() {
        return code;
    }

    public @Nullable String id() {
        return id;
    }

    /** The same error, now tied to the frame's {@code id}. */
    public ProtocolException withId(@Nullable String id) {
        return id == null || id.equals(this.id) ? this : new ProtocolException(code, getMessage(), id);
    }

    public static ProtocolException badRequest(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
