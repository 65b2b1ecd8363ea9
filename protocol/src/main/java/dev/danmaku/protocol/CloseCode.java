package dev.danmaku.protocol;

/**
 * Every WebSocket close code the gateway uses, with what a client should do about it.
 * Nothing else invents a close code.
 */
public enum CloseCode {
    NORMAL(1000, "normal", Reconnect.NEVER),
    GOING_AWAY(1001, "going away", Reconnect.BACKOFF),
    POLICY_VIOLATION(1008, "policy violation", Reconnect.NEVER),
    MESSAGE_TOO_BIG(1009, "frame too big", Reconnect.NEVER),
    SERVER_ERROR(1011, "server error", Reconnect.BACKOFF),
    SERVICE_RESTART(1012, "service restart", Reconnect.IMMEDIATELY),
    TRY_AGAIN_LATER(1013, "try again later", Reconnect.BACKOFF),
    HEARTBEAT_TIMEOUT(4000, "heartbeat timeout", Reconnect.BACKOFF),
    UNAUTHORIZED(4001, "unauthorized", Reconnect.AFTER_NEW_TOKEN),
    TOO_MANY_REQUESTS(4029, "too many requests", Reconnect.AFTER_LONG_PAUSE);

    /** What a client should do after a close with this code. */
    public enum Reconnect {
        NEVER, BACKOFF, IMMEDIATELY, AFTER_NEW_TOKEN, AFTER_LONG_PAUSE
    }

    private final int code;
    private final String reason;
    private final Reconnect reconnect;

    CloseCode(int code, String reason, Reconnect reconnect) {
        this.code = code;
        this.reason = reason;
        this.reconnect = reconnect;
    }

    public int code() {
        return code;
    }

    public String reason() {
        return reason;
    }

    public Reconnect reconnect() {
        return reconnect;
    }
}
