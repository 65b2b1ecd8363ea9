package dev.danmaku.aggregator.config;

import dev.danmaku.aggregator.batch.RoomWindows;
import dev.danmaku.aggregator.pipeline.AggregationLoop;
import dev.danmaku.aggregator.pipeline.AggregatorLifecycle;
import dev.danmaku.aggregator.pipeline.KafkaClients;
import dev.danmaku.aggregator.presence.KafkaPresenceSource;
import dev.danmaku.aggregator.pipeline.KafkaRoomStateSource;
import dev.danmaku.aggregator.pipeline.RoomStateSource;
import dev.danmaku.aggregator.pipeline.TransactionalKafkaClients;
import dev.danmaku.aggregator.topics.KafkaTopicAdmin;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The service's beans: topic creation, Kafka clients, and the loop's lifecycle. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({AggregatorProperties.class, KafkaProperties.class, NodeProperties.class,
        GiftProperties.class, PresenceProperties.class})
public class AggregatorConfiguration {

    @Bean(destroyMethod = "close")
    KafkaTopicAdmin kafkaTopicAdmin(KafkaProperties kafka, AggregatorProperties aggregator, NodeProperties node) {
        Admin admin = Admin.create(Map.<String, Object>of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                AdminClientConfig.CLIENT_ID_CONFIG, "danmaku-aggregator-" + node.nodeId() + "-admin",
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000));
        var specs = new KafkaTopicAdmin.TopicSpecs(kafka.ingressPartitions(), kafka.replicationFactor(),
                aggregator.roomTopicRetention());
        return new KafkaTopicAdmin(admin, specs, aggregator.topicCreationAttempts(),
                "danmaku-aggregator-" + node.nodeId() + "-topics");
    }

    @Bean
    TransactionalKafkaClients kafkaClients(KafkaProperties kafka, AggregatorProperties aggregator, NodeProperties node) {
        return new TransactionalKafkaClients(kafka.bootstrapServers(), aggregator.groupId(), node.nodeId(),
                aggregator.transactionTimeout());
    }

    @Bean
    AggregatorLifecycle aggregatorLifecycle(KafkaClients clients, KafkaTopicAdmin topics, KafkaProperties kafka,
                                            AggregatorProperties aggregator, NodeProperties node, GiftProperties gifts,
                                            PresenceProperties presence) {
        BusCodec codec = new BusCodec();
        RoomStateSource states = new KafkaRoomStateSource(kafka.bootstrapServers(),
                "danmaku-aggregator-" + node.nodeId() + "-state", codec, aggregator.stateLoadTimeout());
        return new AggregatorLifecycle(() -> new AggregationLoop(clients, topics, topics,
                new RoomWindows(aggregator.roomPolicy(gifts.gifts())), states,
                () -> new KafkaPresenceSource(kafka.bootstrapServers(),
                        "danmaku-aggregator-" + node.nodeId() + "-presence", codec),
                presence.interval(), codec, Clock.systemUTC(), aggregator.window()),
                "danmaku-aggregator-" + node.nodeId());
    }
}
