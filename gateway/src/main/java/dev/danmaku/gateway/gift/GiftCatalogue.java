package dev.danmaku.gateway.gift;

import dev.danmaku.protocol.Gift;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** The configured gifts ({@code danmaku.gifts}), in their configured order. Immutable, thread-safe. */
public final class GiftCatalogue {

    private final List<Gift> gifts;
    private final Map<String, Gift> byId;

    public GiftCatalogue(List<Gift> gifts) {
        Map<String, Gift> map = new LinkedHashMap<>();
        for (Gift gift : gifts) {
            if (map.putIfAbsent(gift.id(), gift) != null) {
                throw new IllegalArgumentException("danmaku.gifts: gift id " + gift.id() + " appears twice");
            }
        }
        this.gifts = List.copyOf(gifts);
        this.byId = Map.copyOf(map);
    }

    public List<Gift> all() {
        return gifts;
    }

    public @Nullable Gift find(String id) {
        return byId.get(id);
    }

    public boolean contains(String id) {
        return byId.containsKey(id);
    }
}
