package dev.danmaku.gateway.ingress;

import dev.danmaku.protocol.bus.Ingress;
import reactor.core.publisher.Mono;

/** Hands viewers' sends to the aggregators (the port in front of {@code danmaku.ingress}). */
public interface IngressPublisher {

    /**
     * Publishes one send, keyed by its room.
     *
     * @return completes once the broker acknowledged it (stored durably); fails with
     * {@link IngressUnavailableException} when it did not within the configured bound. Never
     * blocks the subscribing thread.
     */
    Mono<Void> publish(Ingress ingress);
}
