package dev.danmaku.gateway.config;

import dev.danmaku.gateway.auth.JwtTokens;
import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.gift.GiftCatalogue;
import dev.danmaku.gateway.http.DevTokenEndpoint;
import dev.danmaku.gateway.http.GiftsEndpoint;
import dev.danmaku.gateway.ingress.CircuitBreakingIngressPublisher;
import dev.danmaku.gateway.ingress.IngressTopic;
import dev.danmaku.gateway.ingress.KafkaIngressPublisher;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.gateway.state.KafkaRoomStates;
import dev.danmaku.gateway.state.MuteCheckingIngressPublisher;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.gateway.room.kafka.KafkaRoomFeed;
import dev.danmaku.gateway.session.ClientAddresses;
import dev.danmaku.gateway.session.CloseCodes;
import dev.danmaku.gateway.session.ConnectionCap;
import dev.danmaku.gateway.session.ConnectionServices;
import dev.danmaku.gateway.session.ConnectionSettings;
import dev.danmaku.gateway.session.ConnectionsLifecycle;
import dev.danmaku.gateway.session.GatewayWebSocketHandler;
import dev.danmaku.gateway.session.WebSocketRoute;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.github.bucket4j.TimeMeter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.netty.channel.ChannelOption;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.boot.reactor.netty.NettyReactiveWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.ServerResponse;

/** Wires the gateway from {@link GatewayProperties}. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties({GatewayProperties.class, DrainProperties.class, AbuseProperties.class})
public class GatewayConfiguration {

    private static final Logger log = LoggerFactory.getLogger(GatewayConfiguration.class);

    @Bean
    Clock danmakuClock() {
        return Clock.systemUTC();
    }

    @Bean
    Limits danmakuLimits(GatewayProperties properties) {
        return properties.limits().toProtocol();
    }

    @Bean
    Codecs danmakuCodecs(Limits limits) {
        return new Codecs(List.of(new JsonFrameCodec(limits), new CborFrameCodec(limits)));
    }

    @Bean
    BusCodec danmakuBusCodec() {
        return new BusCodec();
    }

    @Bean
    GiftCatalogue giftCatalogue(GatewayProperties properties) {
        return new GiftCatalogue(properties.gifts());
    }

    @Bean
    JwtTokens jwtTokens(GatewayProperties properties, Clock clock) {
        GatewayProperties.Auth auth = properties.auth();
        return new JwtTokens(JwtTokens.resolveSecret(auth.jwtSecret(), properties.devMode(), auth.jwkSetUri() != null),
                auth.jwkSetUri(), clock);
    }

    @Bean(destroyMethod = "close")
    KafkaAdminResource danmakuKafkaAdmin(GatewayProperties properties) {
        log.info("Gateway node {} using Kafka at {}", properties.nodeId(), properties.kafka().bootstrapServers());
        return new KafkaAdminResource(KafkaClients.admin(properties));
    }

    @Bean
    IngressTopic ingressTopic(KafkaAdminResource admin, GatewayProperties properties) {
        IngressTopic topic = new IngressTopic(admin.admin(), properties.kafka().ingressPartitions(),
                properties.kafka().replicationFactor());
        topic.ensure(); // asynchronous: start-up does not wait for the broker
        return topic;
    }

    @Bean(destroyMethod = "close")
    KafkaIngressPublisher ingressPublisher(GatewayProperties properties, BusCodec busCodec) {
        return new KafkaIngressPublisher(new KafkaProducer<>(KafkaClients.producer(properties)), busCodec,
                KafkaClients.publishBound(properties), "danmaku-ingress-" + properties.nodeId());
    }

    @Bean(destroyMethod = "close")
    KafkaRoomFeed roomFeed(GatewayProperties properties, KafkaAdminResource admin, Clock clock) {
        Map<String, Object> consumerConfig = KafkaClients.roomConsumer(properties);
        GatewayProperties.Feed feed = properties.feed();
        return new KafkaRoomFeed(admin.admin(), () -> new KafkaConsumer<>(consumerConfig), clock,
                new KafkaRoomFeed.Settings(feed.ringMaxBatches(), feed.ringMaxAge(), feed.topicCheckInterval()),
                "danmaku-feed-" + properties.nodeId());
    }

    @Bean
    ConnectionSettings connectionSettings(GatewayProperties properties, Limits limits, AbuseProperties abuse) {
        GatewayProperties.LimitsProperties l = properties.limits();
        return new ConnectionSettings(properties.nodeId(), limits, l.sendsPerSecond(), l.sendBurst(),
                properties.heartbeat().interval(), properties.heartbeat().timeout(),
                properties.outbound().queueCapacity(), properties.outbound().maxInFlight(),
                properties.outbound().maxLag(), abuse.rateLimitedFrames(), abuse.window());
    }

    @Bean
    RoomRegistry roomRegistry(KafkaRoomFeed feed, BusCodec busCodec, Codecs codecs, Clock clock,
                              GatewayProperties properties, ConnectionSettings connections,
                              KafkaRoomStates roomStates) {
        GatewayProperties.Feed settings = properties.feed();
        // joined carries the room's likes, gift totals and top list from its state (KafkaRoomStates)
        return new RoomRegistry(feed, busCodec, codecs, clock, new RoomRegistry.Settings(
                settings.ringMaxBatches(), settings.ringMaxAge(), settings.joinTimeout(), connections.maxReplay()),
                roomStates::get);
    }

    @Bean
    GatewayWebSocketHandler gatewayWebSocketHandler(Codecs codecs, RoomRegistry rooms,
                                                    CircuitBreakingIngressPublisher ingress, GiftCatalogue gifts,
                                                    ConnectionSettings settings, Clock clock,
                                                    KafkaRoomStates roomStates, GatewayMetrics metrics) {
        return new GatewayWebSocketHandler(codecs, new ConnectionServices(rooms,
                new MuteCheckingIngressPublisher(ingress, roomStates), gifts, settings, clock,
                TimeMeter.SYSTEM_MILLISECONDS, metrics));
    }

    @Bean
    ConnectionsLifecycle connectionsLifecycle(GatewayWebSocketHandler handler, ApplicationEventPublisher events,
                                              DrainProperties drain) {
        return new ConnectionsLifecycle(handler, events, drain.period(), drain.waves());
    }

    /** {@code /ws} on a Netty handler of its own, ahead of Reactor Netty's HTTP and WebFlux (see {@link WebSocketRoute}). */
    @Bean
    WebSocketRoute webSocketRoute(GatewayWebSocketHandler handler, JwtTokens tokens, GatewayProperties properties,
                                  AbuseProperties abuse) {
        return new WebSocketRoute(handler, tokens, properties.allowedOrigins(), properties.limits().maxFrameBytes(),
                new ConnectionCap(abuse.maxConnectionsPerIp()), new ClientAddresses(abuse.trustedProxies()));
    }

    @Bean
    WebServerFactoryCustomizer<NettyReactiveWebServerFactory> webSocketRouteCustomizer(WebSocketRoute route) {
        return factory -> factory.addServerCustomizers(
                server -> server.doOnChannelInit((observer, channel, address) -> route.install(channel)));
    }

    /**
     * Bounds each accepted socket's kernel send buffer ({@code danmaku.outbound.socket-send-buffer}):
     * left to autotuning, a socket whose reader stalls can hold megabytes in the kernel, where the
     * outbound queue's lag policy does not see them, and ten thousand of them put the whole host's
     * TCP under memory pressure (dropped segments, retransmission stalls of many seconds on every
     * socket: measured with the fan-out bench, docs/performance.md).
     */
    @Bean
    WebServerFactoryCustomizer<NettyReactiveWebServerFactory> socketSendBufferCustomizer(GatewayProperties properties) {
        int bytes = Math.toIntExact(properties.outbound().socketSendBuffer().toBytes());
        return factory -> factory.addServerCustomizers(
                server -> bytes > 0 ? server.childOption(ChannelOption.SO_SNDBUF, bytes) : server);
    }

    @Bean
    RouterFunction<ServerResponse> giftRoutes(GiftCatalogue gifts) {
        return new GiftsEndpoint(gifts).routes();
    }

    @Bean
    RouterFunction<ServerResponse> devTokenRoutes(JwtTokens tokens, GatewayProperties properties) {
        return new DevTokenEndpoint(tokens, properties.devMode(), properties.auth().devTokenTtl()).routes();
    }

    @Bean
    MeterBinder gatewayMetrics(GatewayWebSocketHandler handler, RoomRegistry rooms, KafkaRoomFeed feed) {
        return registry -> {
            Gauge.builder("danmaku.gateway.connections", handler, GatewayWebSocketHandler::openConnections)
                    .description("open WebSocket connections").register(registry);
            Gauge.builder("danmaku.gateway.rooms", rooms, RoomRegistry::roomCount)
                    .description("rooms with local viewers").register(registry);
            Gauge.builder("danmaku.gateway.feed.assigned", feed, f -> f.assignedRooms().size())
                    .description("room topics the feed's consumer is assigned").register(registry);
            for (String code : CloseCodes.CODES) {
                FunctionCounter.builder("danmaku.gateway.closes", handler.closeCodes(), c -> c.count(code)).tag("code", code)
                        .description("connections ended, by the code of the first close frame").register(registry);
            }
            OutboundStats outbound = handler.outboundStats();
            FunctionCounter.builder("danmaku.gateway.outbound.lagging", outbound, OutboundStats::lagStarts)
                    .description("times a viewer's outbound queue filled up (it lags)").register(registry);
            FunctionCounter.builder("danmaku.gateway.outbound.skipped", outbound, OutboundStats::skippedBatches)
                    .description("comment batches not sent to lagging viewers").register(registry);
            FunctionCounter.builder("danmaku.gateway.outbound.stripped", outbound, OutboundStats::strippedBatches)
                    .description("batches sent to lagging viewers without their comments").register(registry);
            FunctionCounter.builder("danmaku.gateway.outbound.slow.closed", outbound, OutboundStats::slowCloses)
                    .description("connections closed 1013 for reading too slowly").register(registry);
        };
    }
}
