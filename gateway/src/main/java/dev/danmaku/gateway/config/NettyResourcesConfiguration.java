package dev.danmaku.gateway.config;

import java.time.Duration;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.client.ReactorResourceFactory;

/**
 * Gives each gateway its own Reactor Netty event loops (named {@code danmaku-http-<node>}),
 * instead of Reactor Netty's JVM-wide global ones: with the global ones, closing one gateway
 * context disposes the event loops every other gateway in the same JVM serves on (tests, the
 * stand-alone launcher).
 *
 * <p>One event loop per CPU the process may use ({@code danmaku.io-threads}, 0: that many),
 * not Reactor Netty's default of at least four: nothing on these loops blocks, and on one core
 * four loops only took turns. Pinned to one core at 10,000 viewers, one loop cost 0.233-0.236 µs
 * of CPU per delivery against 0.258-0.264 µs with four (docs/performance.md, runs 28-31). A
 * negative count stops the start, as every bad setting does.
 *
 * <p>A loop runs its queued tasks (acks, and a fan-out's slices) for at most
 * {@code danmaku.io-task-quantum} before it reads its sockets again ({@link GatewayLoopResources}).
 */
@Configuration(proxyBeanMethods = false)
public class NettyResourcesConfiguration {

    @Bean
    ReactorResourceFactory reactorResourceFactory(GatewayProperties properties,
                                                  @Value("${danmaku.io-threads:0}") int ioThreads,
                                                  @Value("${danmaku.io-task-quantum:5ms}") Duration taskQuantum) {
        if (ioThreads < 0) {
            throw new IllegalArgumentException("danmaku.io-threads must be >= 0 (0: one per CPU), not " + ioThreads);
        }
        if (taskQuantum.toMillis() < 1) {
            throw new IllegalArgumentException("danmaku.io-task-quantum must be at least 1ms, not " + taskQuantum);
        }
        int loops = ioThreads > 0 ? ioThreads : Runtime.getRuntime().availableProcessors();
        ReactorResourceFactory factory = new ReactorResourceFactory();
        factory.setUseGlobalResources(false);
        factory.setLoopResourcesSupplier(() -> new GatewayLoopResources("danmaku-http-" + properties.nodeId(), loops, taskQuantum));
        factory.setShutdownQuietPeriod(Duration.ZERO);
        return factory;
    }
}
