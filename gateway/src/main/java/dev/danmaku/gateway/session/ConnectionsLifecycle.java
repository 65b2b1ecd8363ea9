package dev.danmaku.gateway.session;

import dev.danmaku.protocol.CloseCode;
import java.time.Duration;
import org.springframework.context.SmartLifecycle;

/**
 * When the context closes, tells every viewer to reconnect elsewhere (close 1012, "service
 * restart": reconnect at once and resume) before the web server stops, so that shutting down
 * does not wait on open WebSockets. Runs in the first shutdown phase.
 */
public final class ConnectionsLifecycle implements SmartLifecycle {

    private static final Duration DRAIN = Duration.ofSeconds(2);

    private final GatewayWebSocketHandler handler;
    private volatile boolean running;

    public ConnectionsLifecycle(GatewayWebSocketHandler handler) {
        this.handler = handler;
    }

    @Override
    public void start() {
        running = true;
    }

    @Override
    public void stop() {
        running = false;
        handler.closeAll(CloseCode.SERVICE_RESTART, DRAIN).block(DRAIN.plusSeconds(1));
    }

    @Override
    public void stop(Runnable callback) {
        running = false;
        handler.closeAll(CloseCode.SERVICE_RESTART, DRAIN).subscribe(null, error -> callback.run(), callback);
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
