package dev.danmaku.aggregator.config;

import dev.danmaku.aggregator.batch.RoomWindows;
import dev.danmaku.aggregator.metrics.AggregatorMetrics;
import dev.danmaku.aggregator.metrics.ManagementServer;
import dev.danmaku.aggregator.pipeline.AggregationLoop;
import dev.danmaku.aggregator.pipeline.AggregatorLifecycle;
import dev.danmaku.aggregator.pipeline.KafkaClients;
import dev.danmaku.aggregator.presence.KafkaPresenceSource;
import dev.danmaku.aggregator.pipeline.KafkaRoomStateSource;
import dev.danmaku.aggregator.pipeline.RoomStateSource;
import dev.danmaku.aggregator.pipeline.TransactionalKafkaClients;
import dev.danmaku.aggregator.topics.KafkaTopicAdmin;
import dev.danmaku.protocol.codec.BusCodec;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedRetryMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The service's beans: topic creation, Kafka clients, the loop's lifecycle, metrics and the management port. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({AggregatorProperties.class, KafkaProperties.class, NodeProperties.class,
        GiftProperties.class, PresenceProperties.class})
public class AggregatorConfiguration {

    /** The name of the publish path's circuit breaker (resilience4j_circuitbreaker_state{name="publish"}). */
    public static final String PUBLISH = "publish";

    @Bean
    AggregatorMetrics aggregatorMetrics(ObjectProvider<MeterRegistry> registry) {
        MeterRegistry meters = registry.getIfAvailable();
        return meters == null ? AggregatorMetrics.standalone() : new AggregatorMetrics(meters);
    }

    /**
     * The publish path's breaker: after 3 failed window transactions of the last 5, no transaction
     * is tried for 5 s (consumption paused), then one; a broker outage costs one attempt per 5 s
     * instead of one per window.
     */
    @Bean
    CircuitBreakerRegistry aggregatorCircuitBreakers() {
        return CircuitBreakerRegistry.of(CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(5)
                .minimumNumberOfCalls(3)
                .failureRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(5))
                .permittedNumberOfCallsInHalfOpenState(1)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .build());
    }

    @Bean
    MeterBinder aggregatorResilienceMetrics(CircuitBreakerRegistry breakers, KafkaTopicAdmin topics) {
        return registry -> {
            TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(registry);
            TaggedRetryMetrics.ofRetryRegistry(topics.retries()).bindTo(registry);
        };
    }

    @Bean(destroyMethod = "close")
    KafkaTopicAdmin kafkaTopicAdmin(KafkaProperties kafka, AggregatorProperties aggregator, NodeProperties node,
                                    AggregatorMetrics metrics) {
        Admin admin = Admin.create(Map.<String, Object>of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "danmaku-aggregator-" + node.nodeId() + "-admin",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000));
        var specs = new KafkaTopicAdmin.TopicSpecs(kafka.ingressPartitions(), kafka.replicationFactor(),
                aggregator.roomTopicRetention());
        return new KafkaTopicAdmin(admin, specs, aggregator.topicCreationAttempts(),
                "danmaku-aggregator-" + node.nodeId() + "-topics", metrics);
    }

    @Bean
    TransactionalKafkaClients kafkaClients(KafkaProperties kafka, AggregatorProperties aggregator, NodeProperties node) {
        return new TransactionalKafkaClients(kafka.bootstrapServers(), aggregator.groupId(), node.nodeId(),
                aggregator.transactionTimeout(), TransactionalKafkaClients.metadataIdleFor(aggregator.roomIdle()));
    }

    @Bean
    AggregatorLifecycle aggregatorLifecycle(KafkaClients clients, KafkaTopicAdmin topics, KafkaProperties kafka,
                                            AggregatorProperties aggregator, NodeProperties node, GiftProperties gifts,
                                            PresenceProperties presence, AggregatorMetrics metrics,
                                            CircuitBreakerRegistry breakers) {
        BusCodec codec = new BusCodec();
        RoomStateSource states = new KafkaRoomStateSource(kafka.bootstrapServers(),
                "danmaku-aggregator-" + node.nodeId() + "-state", codec, aggregator.stateLoadTimeout());
        return new AggregatorLifecycle(() -> new AggregationLoop(clients, topics, topics,
                new RoomWindows(aggregator.roomPolicy(gifts.gifts())), states,
                () -> new KafkaPresenceSource(kafka.bootstrapServers(),
                        "danmaku-aggregator-" + node.nodeId() + "-presence", codec),
                presence.interval(), codec, Clock.systemUTC(), aggregator.window(), aggregator.roomIdle(), metrics,
                breakers.circuitBreaker(PUBLISH)),
                "danmaku-aggregator-" + node.nodeId());
    }

    @Bean
    @ConditionalOnExpression("${danmaku.aggregator.management-port:8081} >= 0")
    ManagementServer aggregatorManagementServer(AggregatorProperties aggregator,
                                                ObjectProvider<PrometheusMeterRegistry> prometheus,
                                                AggregatorLifecycle lifecycle) {
        PrometheusMeterRegistry registry = prometheus.getIfAvailable(
                () -> new PrometheusMeterRegistry(io.micrometer.prometheusmetrics.PrometheusConfig.DEFAULT));
        return new ManagementServer(aggregator.managementPort(), registry, lifecycle::isRunning);
    }
}
