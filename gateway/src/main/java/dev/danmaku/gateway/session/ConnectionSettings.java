package dev.danmaku.gateway.session;

import dev.danmaku.protocol.Limits;
import java.time.Duration;

/**
 * What every connection of a node shares: its limits and timings.
 *
 * @param nodeId            this node's id (in connection ids and ingress records)
 * @param limits            the protocol's limits
 * @param sendsPerSecond    sustained likes, gifts and mutes per connection
 * @param sendBurst         burst of those
 * @param heartbeatInterval a WebSocket PING this often
 * @param heartbeatTimeout  close 4000 when nothing arrived for this long
 * @param queueCapacity     outbound frames waiting per connection; beyond: close 1013
 * @param maxInFlight       inbound frames being processed at once per connection
 */
public record ConnectionSettings(String nodeId, Limits limits, int sendsPerSecond, int sendBurst,
                                 Duration heartbeatInterval, Duration heartbeatTimeout,
                                 int queueCapacity, int maxInFlight) {

    /** Room for the frames around a replay: a join replays at most this much less than the queue holds. */
    public static final int REPLAY_HEADROOM = 64;

    public int maxReplay() {
        return Math.max(0, queueCapacity - REPLAY_HEADROOM);
    }

    /** How often the heartbeat is looked at: a fifth of the interval (10 ms at least). */
    Duration heartbeatTick() {
        return Duration.ofMillis(Math.max(10, heartbeatInterval.toMillis() / 5));
    }
}
