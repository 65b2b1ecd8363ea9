package dev.danmaku.protocol;

import java.util.List;

/**
 * One gift a viewer can send, as {@code GET /api/gifts} lists it. The gateway (which refuses
 * unknown gifts) and the aggregator (which values them) read the same catalogue: property
 * {@code danmaku.gifts}, default {@link #DEFAULT_CATALOGUE}.
 *
 * @param id    the id clients send in a {@code gift} frame
 * @param name  the display name
 * @param value what one of it is worth, in coins
 */
public record Gift(String id, String name, long value) {

    /** The catalogue when {@code danmaku.gifts} is not configured: heart 1, rose 10, rocket 1000, carnival 5000. */
    public static final List<Gift> DEFAULT_CATALOGUE = List.of(
            new Gift("heart", "Heart", 1),
            new Gift("rose", "Rose", 10),
            new Gift("rocket", "Rocket", 1000),
            new Gift("carnival", "Carnival", 5000));

    public Gift {
        if (id == null || !Rules.ID.matcher(id).matches()) {
            throw new IllegalArgumentException("gift id must match " + Rules.ID.pattern() + ": " + id);
        }
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("gift " + id + " needs a name");
        }
        if (value < 1) {
            throw new IllegalArgumentException("gift " + id + " must be worth at least 1 coin");
        }
    }
}
