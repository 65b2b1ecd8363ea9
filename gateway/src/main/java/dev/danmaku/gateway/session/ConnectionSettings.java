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
 * @param queueCapacity     outbound frames waiting per connection; beyond, comment batches are skipped
 * @param maxInFlight       inbound frames being processed at once per connection
 * @param maxLag            how long a viewer may lag (its queue full, comment batches skipped) before close 1013
 * @param abuseFrames       sends answered {@code rate_limited} within {@code abuseWindow} that close 4029
 * @param abuseWindow       the period those are counted over
 */
public record ConnectionSettings(String nodeId, Limits limits, int sendsPerSecond, int sendBurst,
                                 Duration heartbeatInterval, Duration heartbeatTimeout,
                                 int queueCapacity, int maxInFlight, Duration maxLag,
                                 int abuseFrames, Duration abuseWindow) {

    public static final Duration DEFAULT_MAX_LAG = Duration.ofSeconds(10);

    /** With the default {@code maxLag}. */
    public ConnectionSettings(String nodeId, Limits limits, int sendsPerSecond, int sendBurst,
                              Duration heartbeatInterval, Duration heartbeatTimeout, int queueCapacity,
                              int maxInFlight) {
        this(nodeId, limits, sendsPerSecond, sendBurst, heartbeatInterval, heartbeatTimeout, queueCapacity,
                maxInFlight, DEFAULT_MAX_LAG, 20, Duration.ofSeconds(10));
    }

    /** Items beyond {@code queueCapacity} for a connection's own frames and batches with gifts or totals. */
    public int queueHeadroom() {
        return Math.max(64, queueCapacity / 4);
    }

    /** Room for the frames around a replay: a join replays at most this much less than the queue holds. */
    public static final int REPLAY_HEADROOM = 64;

    public int maxReplay() {
        return Math.max(0, queueCapacity - REPLAY_HEADROOM);
    }

    /** How often the heartbeat and the lag are looked at: a fifth of the shorter of both (10 ms at least). */
    Duration heartbeatTick() {
        return Duration.ofMillis(Math.max(10, Math.min(heartbeatInterval.toMillis(), maxLag.toMillis()) / 5));
    }
}
