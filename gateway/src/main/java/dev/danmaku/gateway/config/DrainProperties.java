package dev.danmaku.gateway.config;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The graceful drain on shutdown ({@code danmaku.drain.*}).
 *
 * @param period how long closing every viewer (1012) is spread over, in waves
 * @param waves  how many waves
 */
@ConfigurationProperties("danmaku.drain")
public record DrainProperties(@DefaultValue("20s") Duration period, @DefaultValue("10") int waves) {

    public DrainProperties {
        if (period.isNegative() || waves < 1) {
            throw new IllegalArgumentException("danmaku.drain: period >= 0, waves >= 1");
        }
    }
}
