package dev.danmaku.gateway.state;

import dev.danmaku.gateway.config.GatewayProperties;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.protocol.codec.BusCodec;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/** The room-state cache ({@code danmaku.state}) and the room snapshot endpoints. */
@Configuration(proxyBeanMethods = false)
public class RoomStateConfiguration {

    /** Rooms whose state one gateway caches. */
    static final int MAX_ROOMS = 10_000;

    @Bean
    KafkaRoomStates danmakuRoomStates(GatewayProperties properties, BusCodec codec) {
        return new KafkaRoomStates(properties.kafka().bootstrapServers(),
                "danmaku-gateway-" + properties.nodeId() + "-state", codec, MAX_ROOMS);
    }

    @Bean
    RouterFunction<ServerResponse> roomSnapshotRoutes(KafkaRoomStates states, RoomRegistry rooms) {
        return new RoomSnapshotEndpoint(states, rooms).routes();
    }
}
