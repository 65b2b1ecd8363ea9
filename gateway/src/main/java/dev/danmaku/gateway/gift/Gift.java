package dev.danmaku.gateway.gift;

import dev.danmaku.protocol.Rules;

/**
 * One gift a viewer can send, as {@code GET /api/gifts} lists it.
 *
 * @param id    the id clients send in a {@code gift} frame
 * @param name  the display name
 * @param value what one of it is worth, in coins
 */
public record Gift(String id, String name, long value) {

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
