package dev.danmaku.gateway.config;

import java.time.Duration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;
import reactor.netty.resources.LoopResources;

/**
 * Gives each gateway its own Reactor Netty event loops (named {@code danmaku-http-<node>}),
 * instead of Reactor Netty's JVM-wide global ones: with the global ones, closing one gateway
 * context disposes the event loops every other gateway in the same JVM serves on (tests, the
 * stand-alone launcher).
 */
@Configuration(proxyBeanMethods = false)
public class NettyResourcesConfiguration {

    @Bean
    ReactorResourceFactory reactorResourceFactory(GatewayProperties properties) {
        ReactorResourceFactory factory = new ReactorResourceFactory();
        factory.setUseGlobalResources(false);
        factory.setLoopResourcesSupplier(() -> LoopResources.create("danmaku-http-" + properties.nodeId()));
        factory.setShutdownQuietPeriod(Duration.ZERO);
        return factory;
    }
}
