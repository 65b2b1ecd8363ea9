package dev.danmaku.gateway.metrics;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.room.kafka.KafkaRoomFeed;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires {@link GatewayMetrics} into the context's meter registry (Prometheus, through Actuator). */
@Configuration(proxyBeanMethods = false)
public class MetricsConfiguration {

    @Bean
    GatewayMetrics gatewayTrafficMetrics(ObjectProvider<MeterRegistry> registry, Clock clock, Codecs codecs) {
        GatewayMetrics metrics = new GatewayMetrics(registry.getIfAvailable(SimpleMeterRegistry::new), clock);
        // every codec's series from the start (at 0), not from its first connection
        codecs.subprotocols().forEach(subprotocol ->
                metrics.register(GatewayMetrics.codecName(codecs.forSubprotocol(subprotocol))));
        metrics.register(GatewayMetrics.SSE);
        return metrics;
    }

    @Bean
    MeterBinder gatewayFeedMetrics(KafkaRoomFeed feed) {
        return GatewayMetrics.feedMetrics(feed);
    }

    @Bean
    MeterBinder gatewaySlowDrops(GatewayWebSocketHandler handler) {
        return GatewayMetrics.slowDrops(handler.outboundStats());
    }
}
