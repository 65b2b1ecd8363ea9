package dev.danmaku.gateway.ingress;

import dev.danmaku.protocol.bus.Ingress;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.reactor.circuitbreaker.operator.CircuitBreakerOperator;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import reactor.core.publisher.Mono;

/**
 * The ingress as viewers see it while the broker may be away: every send is answered within
 * {@code answerTimeout}, and once sends keep failing, a Resilience4j circuit breaker refuses the
 * next ones at once, without touching the producer, until a few trial sends succeed again.
 *
 * <p>A send answered {@code unavailable} after the timeout may still be stored later by the
 * producer (it keeps trying until its own delivery timeout): the client retries with the same
 * {@code id}, which the aggregator counts once. An {@code ack} is only ever given after the
 * broker acknowledged the send.
 */
public final class CircuitBreakingIngressPublisher implements IngressPublisher {

    private final IngressPublisher delegate;
    private final CircuitBreaker breaker;
    private final Duration answerTimeout;

    public CircuitBreakingIngressPublisher(IngressPublisher delegate, CircuitBreaker breaker, Duration answerTimeout) {
        this.delegate = delegate;
        this.breaker = breaker;
        this.answerTimeout = answerTimeout;
    }

    @Override
    public Mono<Void> publish(Ingress ingress) {
        return Mono.defer(() -> delegate.publish(ingress))
                .timeout(answerTimeout, Mono.error(() -> new TimeoutException("no acknowledgement within "
                        + answerTimeout)))
                .transformDeferred(CircuitBreakerOperator.of(breaker))
                .onErrorMap(e -> !(e instanceof IngressUnavailableException), e -> new IngressUnavailableException(
                        e instanceof CallNotPermittedException ? "ingress circuit open" : "ingress not stored: " + e, e));
    }

    public CircuitBreaker breaker() {
        return breaker;
    }
}
