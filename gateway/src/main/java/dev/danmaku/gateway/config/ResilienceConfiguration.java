package dev.danmaku.gateway.config;

import dev.danmaku.gateway.ingress.CircuitBreakingIngressPublisher;
import dev.danmaku.gateway.ingress.KafkaIngressPublisher;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The circuit breaker in front of the ingress producer, and its metrics
 * ({@code resilience4j_circuitbreaker_state{name="ingress",state=...}}, calls, failure rate).
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(IngressProperties.class)
public class ResilienceConfiguration {

    static final String INGRESS = "ingress";

    @Bean
    CircuitBreakerRegistry danmakuCircuitBreakers(IngressProperties properties) {
        return CircuitBreakerRegistry.of(breakerConfig(properties.breaker()));
    }

    /**
     * The ingress breaker's settings. Its window is lock-free: outcomes are recorded on the
     * thread that completes a send, and a send that times out completes on a Reactor parallel
     * thread, which must not wait for a lock (the default window's; under BlockHound that wait
     * failed inside the breaker, and the send was never answered).
     */
    static CircuitBreakerConfig breakerConfig(IngressProperties.Breaker b) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSynchronizationStrategy(CircuitBreakerConfig.SlidingWindowSynchronizationStrategy.LOCK_FREE)
                .slidingWindowSize(b.slidingWindow())
                .minimumNumberOfCalls(b.minimumCalls())
                .failureRateThreshold(b.failureRateThreshold())
                .waitDurationInOpenState(b.waitInOpen())
                .permittedNumberOfCallsInHalfOpenState(b.halfOpenCalls())
                .build();
    }

    @Bean
    CircuitBreakingIngressPublisher circuitBreakingIngress(KafkaIngressPublisher kafka, CircuitBreakerRegistry breakers,
                                                           IngressProperties properties) {
        CircuitBreaker breaker = breakers.circuitBreaker(INGRESS);
        return new CircuitBreakingIngressPublisher(kafka, breaker, properties.answerTimeout());
    }

    @Bean
    MeterBinder circuitBreakerMetrics(CircuitBreakerRegistry breakers) {
        return TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers);
    }
}
