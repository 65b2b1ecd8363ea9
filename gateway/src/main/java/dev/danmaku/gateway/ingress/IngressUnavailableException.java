package dev.danmaku.gateway.ingress;

/** A send could not be stored: the broker is unreachable, too slow, or the send queue is full. */
public final class IngressUnavailableException extends RuntimeException {

    public IngressUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
