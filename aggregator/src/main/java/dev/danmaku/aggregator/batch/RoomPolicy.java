package dev.danmaku.aggregator.batch;

import dev.danmaku.protocol.Gift;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The rules {@link RoomWindows} applies to every room, as configured ({@code danmaku.aggregator.*},
 * {@code danmaku.gifts}). Pure values; checked here so that an invalid policy cannot exist.
 *
 * @param maxCommentsPerWindow memory bound: the most comments one room's window holds before
 *                             the density cap chooses; beyond it, lower priorities give way
 * @param density              the most comments one room's batch carries (the density cap)
 * @param recentCommentIds     comment ids a room remembers to refuse a retry (count bound)
 * @param giftIdsPerRoom       gift ids a room remembers to count each gift once (count bound)
 * @param dedupHorizon         how long a comment or gift id is remembered (time bound)
 * @param recentComments       the latest comments kept in the room state (the snapshot's {@code recent})
 * @param gifters              gifters whose totals a room keeps (the top list is the first 10)
 * @param comboTimeout         a user's sends of one gift at most this far apart continue a streak
 * @param commentBurst         per user and room: comments allowed at once
 * @param commentInterval      per user and room: one more comment allowed every interval
 * @param slowMode             rooms in slow mode: one comment per user every this long, no burst
 * @param duplicateTextWindow  the same user's same text in a room within this is dropped
 * @param giftPriority         a user who sent a gift this recently gets priority under the density cap
 * @param blockedWords         comments containing one of these (NFKC, case-insensitive) are dropped
 * @param gifts                the gift catalogue: each gift's value
 */
public record RoomPolicy(int maxCommentsPerWindow, int density, int recentCommentIds, int giftIdsPerRoom,
                         Duration dedupHorizon, int recentComments, int gifters, Duration comboTimeout,
                         int commentBurst, Duration commentInterval, Map<String, Duration> slowMode,
                         Duration duplicateTextWindow, Duration giftPriority, List<String> blockedWords,
                         List<Gift> gifts) {

    public RoomPolicy {
        if (maxCommentsPerWindow < 1 || density < 1 || recentCommentIds < 0 || giftIdsPerRoom < 0
                || recentComments < 0 || gifters < dev.danmaku.protocol.bus.RoomState.TOP || commentBurst < 1) {
            throw new IllegalArgumentException("invalid room policy: counts out of range");
        }
        for (Duration d : List.of(dedupHorizon, comboTimeout, commentInterval, duplicateTextWindow, giftPriority)) {
            if (d.isNegative()) {
                throw new IllegalArgumentException("invalid room policy: negative duration " + d);
            }
        }
        slowMode.forEach((room, interval) -> {
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("slow mode of room " + room + " must be positive");
            }
        });
        slowMode = Map.copyOf(slowMode);
        blockedWords = List.copyOf(blockedWords);
        gifts = List.copyOf(gifts);
    }

    /** The documented defaults (docs/aggregator.md). */
    public static RoomPolicy defaults() {
        return new RoomPolicy(500, 40, 1024, 10_000, Duration.ofMinutes(10), 20, 1000, Duration.ofSeconds(3),
                3, Duration.ofSeconds(1), Map.of(), Duration.ofSeconds(30), Duration.ofMinutes(1), List.of(),
                Gift.DEFAULT_CATALOGUE);
    }

    public RoomPolicy withDensity(int newDensity) {
        return new RoomPolicy(maxCommentsPerWindow, newDensity, recentCommentIds, giftIdsPerRoom, dedupHorizon,
                recentComments, gifters, comboTimeout, commentBurst, commentInterval, slowMode,
                duplicateTextWindow, giftPriority, blockedWords, gifts);
    }

    public RoomPolicy withCommentRate(int burst, Duration interval, Map<String, Duration> slow) {
        return new RoomPolicy(maxCommentsPerWindow, density, recentCommentIds, giftIdsPerRoom, dedupHorizon,
                recentComments, gifters, comboTimeout, burst, interval, slow, duplicateTextWindow, giftPriority,
                blockedWords, gifts);
    }

    public RoomPolicy withBlockedWords(List<String> words) {
        return new RoomPolicy(maxCommentsPerWindow, density, recentCommentIds, giftIdsPerRoom, dedupHorizon,
                recentComments, gifters, comboTimeout, commentBurst, commentInterval, slowMode,
                duplicateTextWindow, giftPriority, words, gifts);
    }

    public RoomPolicy withIds(int commentIds, int giftIds, Duration horizon) {
        return new RoomPolicy(maxCommentsPerWindow, density, commentIds, giftIds, horizon, recentComments, gifters,
                comboTimeout, commentBurst, commentInterval, slowMode, duplicateTextWindow, giftPriority,
                blockedWords, gifts);
    }
}
