package dev.danmaku.gateway.presence;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code danmaku.presence.*}, shared with the aggregator.
 *
 * @param interval how often this node publishes its viewer count of each room it follows
 */
@ConfigurationProperties("danmaku.presence")
public record PresenceProperties(@DefaultValue("5s") Duration interval) {

    public PresenceProperties {
        if (interval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("danmaku.presence.interval must be at least 100ms");
        }
    }
}
