package dev.danmaku.gateway.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * How sends are answered while the broker may be away ({@code danmaku.ingress.*}).
 *
 * @param answerTimeout a send not acknowledged by the broker within this is answered
 *                      {@code unavailable} (the client retries with the same id)
 * @param breaker       the circuit breaker in front of the ingress producer
 */
@ConfigurationProperties("danmaku.ingress")
public record IngressProperties(@DefaultValue("1s") Duration answerTimeout, @DefaultValue Breaker breaker) {

    public IngressProperties {
        if (answerTimeout.toMillis() < 100) {
            throw new IllegalArgumentException("danmaku.ingress.answer-timeout must be >= 100ms");
        }
    }

    /**
     * Resilience4j's count-based circuit breaker.
     *
     * @param failureRateThreshold percentage of failed sends (of the last {@code slidingWindow})
     *                             that opens the circuit
     * @param slidingWindow        sends looked at
     * @param minimumCalls         sends needed before the rate counts
     * @param waitInOpen           how long the circuit stays open before trial sends
     * @param halfOpenCalls        trial sends that decide whether it closes again
     */
    public record Breaker(@DefaultValue("50") float failureRateThreshold,
                          @DefaultValue("20") int slidingWindow,
                          @DefaultValue("5") int minimumCalls,
                          @DefaultValue("2s") Duration waitInOpen,
                          @DefaultValue("3") int halfOpenCalls) {
        public Breaker {
            if (failureRateThreshold <= 0 || failureRateThreshold > 100 || slidingWindow < 1 || minimumCalls < 1
                    || waitInOpen.toMillis() < 10 || halfOpenCalls < 1) {
                throw new IllegalArgumentException("danmaku.ingress.breaker: failure-rate-threshold in (0, 100], "
                        + "sliding-window >= 1, minimum-calls >= 1, wait-in-open >= 10ms, half-open-calls >= 1");
            }
        }
    }
}
