package dev.danmaku.aggregator.batch;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.Likes;
import dev.danmaku.protocol.bus.Ingress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The open windows of the rooms one aggregator owns, and the little per-room state that batches
 * need (the running like total, the ids published recently).
 *
 * <p>{@link #add} puts a record into its room's open window; {@link #drain} closes every open
 * window and turns each into one {@link Batch} (seq {@code -1}, {@code ts} = the drain time);
 * a room with nothing in its window yields no batch.
 *
 * <p>Drains are transactional, to match the Kafka transaction that publishes them: the like
 * totals and recent ids of drained batches become the rooms' state only on {@link #commit()}.
 * {@link #rollback()} forgets the drained batches and every open window, because the loop then
 * rewinds the consumer and those records arrive again. Between a drain and its commit or
 * rollback, {@link #add} and {@link #drain} are refused.
 *
 * <p>Not thread-safe: it belongs to the loop thread. Memory is bounded per room (at most
 * {@code maxCommentsPerWindow} comments in a window, {@code recentIdsPerRoom} remembered ids)
 * but rooms are not forgotten yet: their state becomes persistent, and evictable, with the
 * room-state topic.
 */
public final class RoomWindows {

    /** What {@link #add} did with a record. */
    public enum Outcome {
        /** It is now part of its room's open window. */
        ADDED,
        /** A comment whose id the room already has, in this window or among the recent ids: left out. */
        DUPLICATE,
        /** A comment beyond the window's limit: left out and counted in the batch's {@code dropped}. */
        DROPPED,
        /** A kind of frame that is not aggregated yet (gift, mute, join, leave): left out. */
        IGNORED
    }

    private final int maxCommentsPerWindow;
    private final int recentIdsPerRoom;
    private final Map<String, RoomState> rooms = new HashMap<>();
    /** Rooms with an open window, in the order their window opened. */
    private final Map<String, Window> open = new LinkedHashMap<>();
    private final List<Drained> uncommitted = new ArrayList<>();

    /**
     * @param maxCommentsPerWindow the most comments one room's batch carries; later ones are dropped
     * @param recentIdsPerRoom     how many published comment ids a room remembers to refuse retries
     */
    public RoomWindows(int maxCommentsPerWindow, int recentIdsPerRoom) {
        if (maxCommentsPerWindow < 1 || recentIdsPerRoom < 0) {
            throw new IllegalArgumentException("maxCommentsPerWindow >= 1 and recentIdsPerRoom >= 0");
        }
        this.maxCommentsPerWindow = maxCommentsPerWindow;
        this.recentIdsPerRoom = recentIdsPerRoom;
    }

    /** Adds a record to its room's open window, opening one if needed. */
    public Outcome add(Ingress ingress) {
        requireNothingUncommitted();
        if (ingress.frame() instanceof ClientFrame.Comment comment) {
            return addComment(ingress, comment);
        }
        if (ingress.frame() instanceof ClientFrame.Like like) {
            window(like.room()).likes += like.count();
            return Outcome.ADDED;
        }
        return Outcome.IGNORED;
    }

    /** True when no room has an open window. */
    public boolean isEmpty() {
        return open.isEmpty();
    }

    /** The rooms that have an open window (a copy). */
    public Set<String> rooms() {
        return Set.copyOf(open.keySet());
    }

    /**
     * Closes every open window: one batch per room that had something in its window, in the
     * order the windows opened; comments in arrival order. Call {@link #commit()} once the
     * batches are published, {@link #rollback()} if they are not.
     *
     * @param now the batch's {@code ts}, epoch millis
     */
    public List<Batch> drain(long now) {
        requireNothingUncommitted();
        List<Batch> batches = new ArrayList<>(open.size());
        for (Map.Entry<String, Window> entry : open.entrySet()) {
            String room = entry.getKey();
            Window window = entry.getValue();
            long total = state(room).likeTotal + window.likes;
            @Nullable Likes likes = window.likes == 0 ? null : new Likes(window.likes, total);
            @Nullable Integer dropped = window.dropped == 0 ? null : window.dropped;
            batches.add(new Batch(room, -1, now, List.copyOf(window.comments.values()), likes,
                    null, null, dropped, null));
            uncommitted.add(new Drained(room, List.copyOf(window.comments.keySet()), window.likes));
        }
        open.clear();
        return batches;
    }

    /** The batches of the last drain were published: their totals and ids become the rooms' state. */
    public void commit() {
        for (Drained drained : uncommitted) {
            RoomState state = state(drained.room);
            state.likeTotal += drained.likes;
            state.recentIds.addAll(drained.ids);
        }
        uncommitted.clear();
    }

    /**
     * Forgets the last drain, if not committed, and every open window: their records will be
     * consumed again from the last committed offsets.
     */
    public void rollback() {
        uncommitted.clear();
        open.clear();
    }

    /**
     * Drops one room's open window (its topic cannot be created, say).
     *
     * @return how many comments were in it
     */
    public int discard(String room) {
        Window window = open.remove(room);
        return window == null ? 0 : window.comments.size();
    }

    private Outcome addComment(Ingress ingress, ClientFrame.Comment comment) {
        Window existing = open.get(comment.room());
        if (existing != null && existing.comments.containsKey(comment.id())) {
            return Outcome.DUPLICATE;
        }
        RoomState state = rooms.get(comment.room());
        if (state != null && state.recentIds.contains(comment.id())) {
            return Outcome.DUPLICATE;
        }
        Window window = existing == null ? window(comment.room()) : existing;
        if (window.comments.size() >= maxCommentsPerWindow) {
            window.dropped++;
            return Outcome.DROPPED;
        }
        window.comments.put(comment.id(), new BatchComment(comment.id(), ingress.user().publicView(),
                comment.text(), comment.color(), comment.mode(), ingress.ts()));
        return Outcome.ADDED;
    }

    private Window window(String room) {
        return open.computeIfAbsent(room, r -> new Window());
    }

    private RoomState state(String room) {
        return rooms.computeIfAbsent(room, r -> new RoomState(recentIdsPerRoom));
    }

    private void requireNothingUncommitted() {
        if (!uncommitted.isEmpty()) {
            throw new IllegalStateException("the last drain was neither committed nor rolled back");
        }
    }

    /** One room's open window. */
    private static final class Window {
        /** By id, in arrival order: the id check and the order in one structure. */
        final Map<String, BatchComment> comments = new LinkedHashMap<>();
        long likes;
        int dropped;
    }

    /** What a room keeps between windows. */
    private static final class RoomState {
        long likeTotal;
        final Set<String> recentIds;

        RoomState(int capacity) {
            this.recentIds = Collections.newSetFromMap(new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                    return size() > capacity;
                }
            });
        }
    }

    private record Drained(String room, List<String> ids, long likes) {
    }
}
