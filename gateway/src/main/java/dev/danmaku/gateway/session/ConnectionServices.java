package dev.danmaku.gateway.session;

import dev.danmaku.gateway.gift.GiftCatalogue;
import dev.danmaku.gateway.ingress.IngressPublisher;
import dev.danmaku.gateway.room.RoomRegistry;
import io.github.bucket4j.TimeMeter;
import java.time.Clock;

/**
 * What connections use, shared by all of a node's connections.
 *
 * @param timeMeter the rate limiters' clock
 */
public record ConnectionServices(RoomRegistry rooms, IngressPublisher ingress, GiftCatalogue gifts,
                                 ConnectionSettings settings, Clock clock, TimeMeter timeMeter) {
}
