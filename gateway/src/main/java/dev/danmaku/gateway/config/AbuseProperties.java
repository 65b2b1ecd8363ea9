package dev.danmaku.gateway.config;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Limits against abuse ({@code danmaku.abuse.*}).
 *
 * @param maxConnectionsPerIp WebSocket connections open at once from one client IP; beyond, the
 *                            handshake is refused with HTTP 429
 * @param rateLimitedFrames   sends answered {@code rate_limited} within {@code window} that close the
 *                            connection with 4029
 * @param window              the period those are counted over
 * @param trustedProxies      addresses or CIDR blocks of the proxies (load balancers, Ingress) in
 *                            front of the gateway: from these only, {@code Forwarded} or
 *                            {@code X-Forwarded-For} names the client (for the per-IP cap and the
 *                            logs); empty (the default): the TCP peer is the client
 */
@ConfigurationProperties("danmaku.abuse")
public record AbuseProperties(@DefaultValue("1000") int maxConnectionsPerIp,
                              @DefaultValue("20") int rateLimitedFrames,
                              @DefaultValue("10s") Duration window,
                              @Nullable List<String> trustedProxies) {

    public AbuseProperties {
        trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
        if (maxConnectionsPerIp < 1 || rateLimitedFrames < 1 || window.toMillis() < 100) {
            throw new IllegalArgumentException(
                    "danmaku.abuse: max-connections-per-ip >= 1, rate-limited-frames >= 1, window >= 100ms");
        }
    }
}
