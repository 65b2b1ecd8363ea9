package dev.danmaku.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.gateway.ingress.CircuitBreakingIngressPublisher;
import dev.danmaku.gateway.ingress.IngressUnavailableException;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The ingress circuit breaker as configured: a send the broker does not acknowledge is answered
 * (unavailable) after the answer timeout, on a Reactor parallel thread, even while another thread
 * is in the middle of recording an outcome in the breaker (here: holds every lock the breaker
 * has). With Resilience4j's default window, recording took a lock; the timed-out send's thread
 * waited for it, BlockHound failed the wait inside the breaker, and the send was never answered.
 */
class IngressBreakerTest {

    private static final Ingress SEND = new Ingress("n1", "c1", new User("u1", "U", Role.VIEWER), 0L,
            new ClientFrame.Comment("r1", "k-1", "hi", "#ffffff", Mode.SCROLL));

    @Test
    void aSendThatTimesOutIsAnsweredWhileAnotherThreadIsRecordingInTheBreaker() throws Exception {
        IngressProperties.Breaker settings = new IngressProperties.Breaker(50, 20, 5, Duration.ofSeconds(2), 3);
        CircuitBreaker breaker = CircuitBreaker.of("ingress", ResilienceConfiguration.breakerConfig(settings));
        CircuitBreakingIngressPublisher ingress = new CircuitBreakingIngressPublisher(send -> Mono.never(), breaker,
                Duration.ofMillis(200));

        List<ReentrantLock> locks = locksOf(breaker);
        locks.forEach(ReentrantLock::lock);
        try {
            StepVerifier.create(ingress.publish(SEND))
                    .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(IngressUnavailableException.class)
                            .hasRootCauseInstanceOf(TimeoutException.class))
                    .verify(Duration.ofSeconds(30));
        } finally {
            locks.forEach(ReentrantLock::unlock);
        }
        assertThat(breaker.getMetrics().getNumberOfFailedCalls()).as("the timeout counted as a failure").isEqualTo(1);
    }

    /** Every ReentrantLock reachable from the breaker through Resilience4j's own objects. */
    private static List<ReentrantLock> locksOf(Object breaker) throws IllegalAccessException {
        List<ReentrantLock> locks = new ArrayList<>();
        collect(breaker, Collections.newSetFromMap(new IdentityHashMap<>()), locks);
        return locks;
    }

    private static void collect(Object object, Set<Object> seen, List<ReentrantLock> locks) throws IllegalAccessException {
        if (object == null || !seen.add(object)) {
            return;
        }
        if (object instanceof ReentrantLock lock) {
            locks.add(lock);
            return;
        }
        if (object instanceof AtomicReference<?> reference) {
            collect(reference.get(), seen, locks);
            return;
        }
        for (Class<?> type = object.getClass(); type != null && type.getName().startsWith("io.github.resilience4j");
             type = type.getSuperclass()) {
            for (Field field : type.getDeclaredFields()) {
                if (!Modifier.isStatic(field.getModifiers()) && !field.getType().isPrimitive()) {
                    field.setAccessible(true);
                    collect(field.get(object), seen, locks);
                }
            }
        }
    }
}
