package dev.danmaku.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.resources.LoopResources;

class NettyResourcesConfigurationTest {

    private final NettyResourcesConfiguration configuration = new NettyResourcesConfiguration();

    @Test
    void aNegativeLoopCountStopsTheStart() {
        assertThatThrownBy(() -> configuration.reactorResourceFactory(GatewayProperties.defaults(), -1, Duration.ofMillis(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("danmaku.io-threads");
    }

    @Test
    void aTaskQuantumUnderAMillisecondStopsTheStart() {
        assertThatThrownBy(() -> configuration.reactorResourceFactory(GatewayProperties.defaults(), 1, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("danmaku.io-task-quantum");
    }

    @Test
    void makesTheGatewaysOwnLoops() {
        ReactorResourceFactory factory = configuration.reactorResourceFactory(GatewayProperties.defaults(), 3, Duration.ofMillis(5));
        factory.afterPropertiesSet();
        try {
            LoopResources loops = factory.getLoopResources();
            assertThat(loops).isNotSameAs(reactor.netty.http.HttpResources.get());
            // the gateway's event loops are the count asked for
            assertThat(loops.onServer(true).iterator()).toIterable().hasSize(3) // not the default (one per CPU)
                    .allMatch(loop -> loop instanceof dev.danmaku.gateway.fanout.FanoutEventLoop);
        } finally {
            factory.destroy();
        }
    }
}
