package dev.danmaku.gateway.room;

import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;

/**
 * The rooms that have local viewers on this node. A room is created by its first {@link #join}
 * (which starts its feed) and removed with its last {@link #leave} (which stops it), so the
 * node reads exactly the room topics its viewers watch. Thread-safe; nothing here blocks.
 */
public final class RoomRegistry {

    private final ConcurrentHashMap<String, Room> rooms = new ConcurrentHashMap<>();
    private final RoomFeed feed;
    private final BusCodec busCodec;
    private final Codecs codecs;
    private final Clock clock;
    private final Settings settings;
    private final java.util.function.Function<String, dev.danmaku.protocol.bus.@org.jspecify.annotations.Nullable RoomState> states;

    /**
     * @param ringMaxBatches batches kept per room for resume
     * @param ringMaxAge     how old a kept batch may get
     * @param joinTimeout    how long a join may wait for its room's feed to catch up
     * @param maxReplay      the most batches one join may replay (beyond: recovered false)
     */
    public record Settings(int ringMaxBatches, Duration ringMaxAge, Duration joinTimeout, int maxReplay) {
    }

    /** The room's feed did not catch up within the join timeout. */
    public static final class JoinTimeoutException extends TimeoutException {
        public JoinTimeoutException(String room) {
            super("room " + room + " did not catch up in time");
        }
    }

    public RoomRegistry(RoomFeed feed, BusCodec busCodec, Codecs codecs, Clock clock, Settings settings) {
        this(feed, busCodec, codecs, clock, settings, room -> null);
    }

    /**
     * @param states the rooms' committed state as this node knows it (null: none), for the likes,
     *               gift totals and top list that {@code joined} carries; must not block
     */
    public RoomRegistry(RoomFeed feed, BusCodec busCodec, Codecs codecs, Clock clock, Settings settings,
                        java.util.function.Function<String, dev.danmaku.protocol.bus.@org.jspecify.annotations.Nullable RoomState> states) {
        this.states = states;
        this.feed = feed;
        this.busCodec = busCodec;
        this.codecs = codecs;
        this.clock = clock;
        this.settings = settings;
    }

    /**
     * Joins a room. The viewer is {@linkplain RoomViewer#deliver delivered} {@code joined} (its
     * {@code seq} the room's latest), then, if {@code since} is given and the ring still holds
     * every later batch, those batches ({@code recovered: true}), then every new batch. When the
     * room is new to this node, this waits (without blocking) until its feed has caught up with
     * the topic's end as it is now.
     *
     * @return completes when {@code joined} was queued, or when a {@link #leave} dropped the join;
     * fails with {@link JoinTimeoutException} after the join timeout. Cancelling drops the join.
     */
    public Mono<Void> join(String room, @Nullable Long since, RoomViewer viewer) {
        return Mono.<Void>create(sink -> {
                    Room.PendingJoin join = new Room.PendingJoin(viewer, since, sink);
                    AtomicReference<@Nullable Room> entered = new AtomicReference<>();
                    sink.onCancel(() -> {
                        Room current = entered.get();
                        if (current != null && current.cancel(join)) {
                            rooms.remove(room, current);
                        }
                    });
                    entered.set(enter(room, join));
                })
                .timeout(settings.joinTimeout(), Mono.error(() -> new JoinTimeoutException(room)));
    }

    /** Leaves a room (or drops a waiting join). The room goes when its last viewer does. */
    public void leave(String room, RoomViewer viewer) {
        Room current = rooms.get(room);
        if (current != null && current.leave(viewer)) {
            rooms.remove(room, current);
        }
    }

    /** How many rooms this node follows now. */
    public int roomCount() {
        return rooms.size();
    }

    /** The rooms this node follows now (a copy). */
    public java.util.Set<String> roomNames() {
        return java.util.Set.copyOf(rooms.keySet());
    }

    /** Local viewers of a room (joined, not waiting); 0 when the room is not followed. */
    public int viewerCount(String room) {
        Room current = rooms.get(room);
        return current == null ? 0 : current.viewerCount();
    }

    /** The room's latest seq as this node knows it, or null when the room is not followed. */
    public @Nullable Long latestSeq(String room) {
        Room current = rooms.get(room);
        return current == null ? null : current.latestSeq();
    }

    /** Batches a room's ring holds now (0 when not followed). */
    public int ringSize(String room) {
        Room current = rooms.get(room);
        return current == null ? 0 : current.ringSize();
    }

    private Room enter(String name, Room.PendingJoin join) {
        while (true) {
            Room room = rooms.computeIfAbsent(name, this::newRoom);
            room.follow(feed);
            if (room.join(join)) {
                return room;
            }
            rooms.remove(name, room); // closed by a concurrent last leave: make a fresh one
        }
    }

    private Room newRoom(String name) {
        RoomRing ring = new RoomRing(settings.ringMaxBatches(), settings.ringMaxAge(), 0);
        return new Room(name, ring, busCodec, codecs, clock, settings.maxReplay(), states);
    }
}
