package dev.danmaku.gateway.session;

import dev.danmaku.gateway.gift.GiftCatalogue;
import dev.danmaku.gateway.ingress.IngressPublisher;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.gateway.room.RoomRegistry;
import io.github.bucket4j.TimeMeter;
import java.time.Clock;

/**
 * What connections use, shared by all of a node's connections.
 *
 * @param timeMeter the rate limiters' clock
 * @param metrics   where written frames are counted
 */
public record ConnectionServices(RoomRegistry rooms, IngressPublisher ingress, GiftCatalogue gifts,
                                 ConnectionSettings settings, Clock clock, TimeMeter timeMeter,
                                 GatewayMetrics metrics) {

    /** Services whose metrics go nowhere (for tests and paths that write no frames). */
    public ConnectionServices(RoomRegistry rooms, IngressPublisher ingress, GiftCatalogue gifts,
                              ConnectionSettings settings, Clock clock, TimeMeter timeMeter) {
        this(rooms, ingress, gifts, settings, clock, timeMeter, GatewayMetrics.unregistered());
    }
}
