package dev.danmaku.gateway.config;

import dev.danmaku.gateway.auth.JwtTokens;
import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.gift.GiftCatalogue;
import dev.danmaku.gateway.http.SendEndpoints;
import dev.danmaku.gateway.http.SseEndpoint;
import dev.danmaku.gateway.ingress.CircuitBreakingIngressPublisher;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.gateway.session.ConnectionServices;
import dev.danmaku.gateway.session.ConnectionSettings;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.gateway.session.HttpSends;
import dev.danmaku.gateway.state.KafkaRoomStates;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.gateway.state.MuteCheckingIngressPublisher;
import io.github.bucket4j.TimeMeter;
import java.time.Clock;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/** The fallbacks for clients without a WebSocket: Server-Sent Events and HTTP sends. */
@Configuration(proxyBeanMethods = false)
public class FallbackConfiguration {

    @Bean
    HttpSends httpSends(RoomRegistry rooms, CircuitBreakingIngressPublisher ingress, GiftCatalogue gifts,
                        ConnectionSettings settings, Clock clock, Codecs codecs, KafkaRoomStates roomStates,
                        GatewayMetrics metrics) {
        // the same path as the WebSocket's sends: a muted user's comment is refused here too
        return new HttpSends(new ConnectionServices(rooms, new MuteCheckingIngressPublisher(ingress, roomStates),
                gifts, settings, clock, TimeMeter.SYSTEM_MILLISECONDS, metrics), codecs.defaultCodec());
    }

    @Bean
    RouterFunction<ServerResponse> sendRoutes(HttpSends sends, JwtTokens tokens, GatewayProperties properties) {
        return new SendEndpoints(sends, tokens, properties.allowedOrigins()).routes();
    }

    @Bean
    RouterFunction<ServerResponse> sseRoutes(RoomRegistry rooms, Codecs codecs, ConnectionSettings settings,
                                             GatewayWebSocketHandler handler, GatewayMetrics metrics) {
        return new SseEndpoint(rooms, codecs.defaultCodec(), settings, handler.outboundStats(), metrics).routes();
    }
}
