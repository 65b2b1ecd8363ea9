package dev.danmaku.aggregator.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * {@code danmaku.presence.*}, shared with the gateway.
 *
 * @param interval how often gateways publish their viewer counts; a gateway silent for three
 *                 intervals is forgotten, and a room's count alone is published at most once per interval
 */
@ConfigurationProperties("danmaku.presence")
public record PresenceProperties(@DefaultValue("5s") Duration interval) {

    public PresenceProperties {
        if (interval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("danmaku.presence.interval must be at least 100ms");
        }
    }
}
