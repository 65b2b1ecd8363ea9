package dev.danmaku.aggregator.presence;

import dev.danmaku.protocol.bus.Presence;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Each room's viewers across gateways: the latest count of every gateway, summed, forgetting a
 * gateway not heard from for three presence intervals (it crashed or lost the room without
 * saying 0). Times are this aggregator's (when a count was received), so the gateways' clocks
 * do not matter. Not thread-safe: it belongs to the loop thread.
 */
public final class ViewerCounts {

    private final long expiryMillis;
    /** room → node → (viewers, received at) */
    private final Map<String, Map<String, long[]>> rooms = new HashMap<>();

    /** @param interval how often gateways publish their counts */
    public ViewerCounts(Duration interval) {
        this.expiryMillis = interval.toMillis() * 3;
    }

    public void update(Presence presence, long now) {
        rooms.computeIfAbsent(presence.room(), r -> new HashMap<>())
                .put(presence.node(), new long[] {presence.viewers(), now});
    }

    /** The room's viewers now, or null when no gateway reported the room recently. */
    public @Nullable Integer viewers(String room, long now) {
        Map<String, long[]> nodes = rooms.get(room);
        if (nodes == null) {
            return null;
        }
        nodes.values().removeIf(entry -> now - entry[1] > expiryMillis);
        if (nodes.isEmpty()) {
            rooms.remove(room);
            return 0;
        }
        long sum = 0;
        for (long[] entry : nodes.values()) {
            sum += entry[0];
        }
        return (int) Math.min(sum, Integer.MAX_VALUE);
    }

    /** The rooms some gateway reported (a copy). */
    public Set<String> rooms() {
        return Set.copyOf(rooms.keySet());
    }
}
