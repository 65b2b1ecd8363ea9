package dev.danmaku.loadtest;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What a {@link GiftStormSimulation} sent, room by room, and what the rooms' totals must therefore
 * be: every acknowledged gift id counted once (PROTOCOL.md: gift totals are exact), however often
 * it was sent. Thread-safe: virtual users record concurrently.
 */
final class GiftLedger {

    /** How many gifters a room's {@code top} lists (docs/protocol.md: the 10 biggest by value). */
    static final int TOP_SIZE = 10;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** The catalogue: gift id to value in coins of one unit. */
    private final Map<String, Long> prices;
    private final ConcurrentHashMap<String, Book> rooms = new ConcurrentHashMap<>();

    /** One gift id as it was first acknowledged. */
    record Sent(String gift, int count, String user) {
    }

    /** A total by gift id, as in {@code GET /api/rooms/{room}}'s {@code gifts}. */
    record Total(long count, long value) {
    }

    private static final class Book {
        final ConcurrentHashMap<String, Sent> acknowledged = new ConcurrentHashMap<>();
        final Set<String> unconfirmed = ConcurrentHashMap.newKeySet();
        final LongAdder sends = new LongAdder();
        final LongAdder resends = new LongAdder();
    }

    GiftLedger(Map<String, Long> prices) {
        if (prices.isEmpty()) {
            throw new IllegalArgumentException("the gift catalogue is empty");
        }
        this.prices = Map.copyOf(prices);
    }

    /** Parses {@code GET /api/gifts}: {@code [{"id","name","value"}, ...]}. */
    static GiftLedger fromCatalogue(String json) {
        Map<String, Long> prices = new HashMap<>();
        try {
            for (JsonNode gift : JSON.readTree(json)) {
                prices.put(gift.get("id").asText(), gift.get("value").asLong());
            }
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("not a gift catalogue: " + json, e);
        }
        return new GiftLedger(prices);
    }

    /** The catalogue's gift ids, sorted. */
    List<String> giftIds() {
        return List.copyOf(new TreeSet<>(prices.keySet()));
    }

    /** A gift frame went out (a first send or a re-send). */
    void sent(String room, boolean resend) {
        Book book = book(room);
        book.sends.increment();
        if (resend) {
            book.resends.increment();
        }
    }

    /**
     * A send of this id was acknowledged. A re-send must carry the same gift and count.
     *
     * @return true when the id is new to the ledger
     */
    boolean acknowledged(String room, String id, String gift, int count, String user) {
        if (!prices.containsKey(gift)) {
            throw new IllegalArgumentException("not in the catalogue: " + gift);
        }
        Book book = book(room);
        Sent sent = new Sent(gift, count, user);
        Sent before = book.acknowledged.putIfAbsent(id, sent);
        if (before != null && !before.equals(sent)) {
            throw new IllegalStateException("id " + id + " re-sent with another gift: " + before + " / " + sent);
        }
        book.unconfirmed.remove(id);
        return before == null;
    }

    /** No send of this id was acknowledged (all tries failed): it may or may not be counted. */
    void unconfirmed(String room, String id) {
        Book book = book(room);
        if (!book.acknowledged.containsKey(id)) {
            book.unconfirmed.add(id);
        }
    }

    /** The room's expected gift totals by gift id (gifts never sent are left out). */
    Map<String, Total> expectedGifts(String room) {
        Map<String, Total> totals = new TreeMap<>();
        for (Sent sent : book(room).acknowledged.values()) {
            long value = sent.count() * prices.get(sent.gift());
            totals.merge(sent.gift(), new Total(sent.count(), value),
                    (a, b) -> new Total(a.count() + b.count(), a.value() + b.value()));
        }
        return totals;
    }

    /** The room's expected value given by each user id. */
    Map<String, Long> expectedByUser(String room) {
        Map<String, Long> byUser = new TreeMap<>();
        for (Sent sent : book(room).acknowledged.values()) {
            byUser.merge(sent.user(), sent.count() * prices.get(sent.gift()), Long::sum);
        }
        return byUser;
    }

    /**
     * Compares a room's snapshot ({@code GET /api/rooms/{room}}) with the ledger: the gift totals
     * must be exactly the expected ones, and {@code top} must list the {@value #TOP_SIZE} (or fewer)
     * biggest gifters with exactly their expected values.
     *
     * @return an empty string when they agree, else what differs
     */
    String diff(String room, String snapshotJson) {
        JsonNode snapshot;
        try {
            snapshot = JSON.readTree(snapshotJson);
        } catch (IOException e) {
            return "not JSON: " + snapshotJson;
        }
        List<String> problems = new ArrayList<>();
        Book book = book(room);
        if (!book.unconfirmed.isEmpty()) {
            problems.add(book.unconfirmed.size() + " gift id(s) never acknowledged, so the totals cannot be exact: "
                    + new TreeSet<>(book.unconfirmed));
        }

        Map<String, Total> expected = expectedGifts(room);
        Map<String, Total> actual = new TreeMap<>();
        JsonNode gifts = snapshot.path("gifts");
        gifts.fieldNames().forEachRemaining(gift -> actual.put(gift,
                new Total(gifts.get(gift).path("count").asLong(), gifts.get(gift).path("value").asLong())));
        Set<String> giftIds = new TreeSet<>(expected.keySet());
        giftIds.addAll(actual.keySet());
        for (String gift : giftIds) {
            Total want = expected.getOrDefault(gift, new Total(0, 0));
            Total got = actual.getOrDefault(gift, new Total(0, 0));
            if (!want.equals(got)) {
                problems.add("gifts." + gift + ": expected count " + want.count() + " value " + want.value()
                        + ", found count " + got.count() + " value " + got.value());
            }
        }

        Map<String, Long> byUser = expectedByUser(room);
        Map<String, Long> top = new HashMap<>();
        for (JsonNode entry : snapshot.path("top")) {
            top.put(entry.path("user").path("id").asText(), entry.path("value").asLong());
        }
        int wantSize = Math.min(TOP_SIZE, byUser.size());
        if (top.size() != wantSize) {
            problems.add("top: expected " + wantSize + " entries, found " + top.size());
        }
        long lowestListed = Long.MAX_VALUE;
        for (Map.Entry<String, Long> entry : top.entrySet()) {
            Long want = byUser.get(entry.getKey());
            if (want == null || want.longValue() != entry.getValue()) {
                problems.add("top: " + entry.getKey() + " listed with " + entry.getValue() + ", expected " + want);
            }
            lowestListed = Math.min(lowestListed, entry.getValue());
        }
        for (Map.Entry<String, Long> entry : byUser.entrySet()) {
            if (!top.containsKey(entry.getKey()) && entry.getValue() > lowestListed && top.size() == wantSize) {
                problems.add("top: " + entry.getKey() + " gave " + entry.getValue() + " but is not listed above "
                        + lowestListed);
            }
        }
        return String.join("; ", problems);
    }

    /** One line per room: what was sent and what its totals must be. */
    String summary(String room) {
        Book book = book(room);
        Map<String, Total> totals = expectedGifts(room);
        long count = totals.values().stream().mapToLong(Total::count).sum();
        long value = totals.values().stream().mapToLong(Total::value).sum();
        return String.format("%s: %d gift frames sent (%d re-sends), %d distinct ids acknowledged, %d unconfirmed;"
                        + " expected totals %d gifts worth %d coins %s", room, book.sends.sum(), book.resends.sum(),
                book.acknowledged.size(), book.unconfirmed.size(), count, value, totals);
    }

    private Book book(String room) {
        return rooms.computeIfAbsent(room, r -> new Book());
    }
}
