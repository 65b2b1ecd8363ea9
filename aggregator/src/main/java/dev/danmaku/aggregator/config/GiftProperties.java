package dev.danmaku.aggregator.config;

import dev.danmaku.protocol.Gift;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code danmaku.gifts}: the gift catalogue, the same property (and the same default,
 * {@link Gift#DEFAULT_CATALOGUE}) as the gateway's, so that what the gateway accepts is what the
 * aggregator values. Configure both services alike.
 *
 * @param gifts the gifts, each {@code id}, {@code name}, {@code value} (coins)
 */
@ConfigurationProperties("danmaku")
public record GiftProperties(List<Gift> gifts) {

    public GiftProperties(@Nullable List<Gift> gifts) {
        this.gifts = gifts == null || gifts.isEmpty() ? Gift.DEFAULT_CATALOGUE : List.copyOf(gifts);
        Set<String> ids = new HashSet<>();
        for (Gift gift : this.gifts) {
            if (!ids.add(gift.id())) {
                throw new IllegalArgumentException("danmaku.gifts: gift id " + gift.id() + " appears twice");
            }
        }
    }
}
