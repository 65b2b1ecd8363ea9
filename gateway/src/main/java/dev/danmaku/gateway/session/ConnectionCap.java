package dev.danmaku.gateway.session;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;

/**
 * Open WebSocket connections per client IP, capped: the handshake takes a {@link Ticket}, the
 * connection's end gives it back. Thread-safe; an IP with no connection left is forgotten.
 */
public final class ConnectionCap {

    private final int maxPerIp;
    private final ConcurrentHashMap<String, Integer> open = new ConcurrentHashMap<>();

    public ConnectionCap(int maxPerIp) {
        if (maxPerIp < 1) {
            throw new IllegalArgumentException("maxPerIp >= 1");
        }
        this.maxPerIp = maxPerIp;
    }

    /** A place for one more connection from this IP, or null when it has {@code maxPerIp} already. */
    public @Nullable Ticket tryAcquire(String ip) {
        boolean[] taken = {false};
        open.compute(ip, (key, count) -> {
            int current = count == null ? 0 : count;
            if (current >= maxPerIp) {
                return count;
            }
            taken[0] = true;
            return current + 1;
        });
        return taken[0] ? new Ticket(ip) : null;
    }

    /** Connections open now from this IP. */
    public int openFrom(String ip) {
        return open.getOrDefault(ip, 0);
    }

    /** One connection's place; {@link #release} is idempotent. */
    public final class Ticket {
        private final String ip;
        private final AtomicBoolean released = new AtomicBoolean();

        private Ticket(String ip) {
            this.ip = ip;
        }

        public void release() {
            if (released.compareAndSet(false, true)) {
                open.computeIfPresent(ip, (key, count) -> count <= 1 ? null : count - 1);
            }
        }
    }
}
