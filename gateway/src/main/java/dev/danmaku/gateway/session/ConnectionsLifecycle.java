package dev.danmaku.gateway.session;

import dev.danmaku.protocol.CloseCode;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.context.SmartLifecycle;

/**
 * The graceful drain: when the context closes, readiness goes DOWN ({@code REFUSING_TRAFFIC}:
 * a load balancer stops sending new viewers), new WebSocket handshakes are turned away, and the
 * open connections are closed with 1012 ("service restart": reconnect at once, elsewhere, and
 * resume) in {@code waves} spread over {@code period}, so that the other nodes are not hit by
 * every viewer at once. Runs before the web server stops (the web server's phase is lower), and
 * the Kafka clients close after it, so that sends in flight are still acknowledged.
 */
public final class ConnectionsLifecycle implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(ConnectionsLifecycle.class);

    /** After the last wave, how long to wait for the connections to finish closing. */
    private static final Duration LAST_CLOSE = Connection.CLOSE_GRACE.plusSeconds(1);

    private final GatewayWebSocketHandler handler;
    private final ApplicationEventPublisher events;
    private final Duration period;
    private final int waves;
    private volatile boolean running;

    public ConnectionsLifecycle(GatewayWebSocketHandler handler, ApplicationEventPublisher events, Duration period,
                                int waves) {
        this.handler = handler;
        this.events = events;
        this.period = period;
        this.waves = waves;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        drain().block(period.plus(LAST_CLOSE).plusSeconds(1));
    }

    @Override
    public void stop(Runnable callback) {
        drain().subscribe(null, error -> callback.run(), callback);
    }

    private reactor.core.publisher.Mono<Void> drain() {
        running = false;
        AvailabilityChangeEvent.publish(events, this, ReadinessState.REFUSING_TRAFFIC);
        log.info("Draining {} connections over {} in {} waves", handler.openConnections(), period, waves);
        return handler.drain(CloseCode.SERVICE_RESTART, period, waves, LAST_CLOSE);
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    @Override
    public int getPhase() {
        return SmartLifecycle.DEFAULT_PHASE; // stops before the web server (a lower phase)
    }
}
