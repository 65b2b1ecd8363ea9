package dev.danmaku.gateway.auth;

/** A token is malformed, badly signed, expired, or its claims are invalid. */
public final class InvalidTokenException extends RuntimeException {

    public InvalidTokenException(String message) {
        super(message);
    }

    public InvalidTokenException(String message, Throwable cause) {
        super(message, cause);
    }
}
