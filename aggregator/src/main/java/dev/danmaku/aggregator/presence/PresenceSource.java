package dev.danmaku.aggregator.presence;

import dev.danmaku.protocol.bus.Presence;
import java.util.List;

/**
 * The gateways' viewer counts as they arrive. {@link #poll()} returns at once (what arrived since
 * the last call); called on the loop thread only; {@link #close()} releases the client.
 */
public interface PresenceSource extends AutoCloseable {

    /** No presence (tests without a broker). */
    PresenceSource NONE = new PresenceSource() {
        @Override
        public List<Presence> poll() {
            return List.of();
        }

        @Override
        public void close() {
        }
    };

    List<Presence> poll();

    @Override
    void close();
}
