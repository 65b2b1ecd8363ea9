package dev.danmaku.gateway.presence;

import dev.danmaku.gateway.config.GatewayProperties;
import dev.danmaku.gateway.config.KafkaAdminResource;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The viewer-count publisher. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(PresenceProperties.class)
public class PresenceConfiguration {

    @Bean
    PresencePublisher danmakuPresencePublisher(RoomRegistry rooms, KafkaAdminResource admin, GatewayProperties gateway,
                                               PresenceProperties presence, BusCodec codec, Clock clock) {
        return new PresencePublisher(rooms, admin.admin(), gateway.kafka().bootstrapServers(),
                gateway.kafka().ingressPartitions(), gateway.kafka().replicationFactor(), codec, clock,
                gateway.nodeId(), presence.interval());
    }
}
