package dev.danmaku.gateway.room;

import dev.danmaku.gateway.LogKeys;
import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import dev.danmaku.protocol.bus.RoomState;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;
import reactor.core.publisher.MonoSink;

/**
 * One room with local viewers: who watches it, how far its feed has read, and the ring of its
 * recent batches. Every method holds the room's lock, so that a viewer joining and a batch
 * arriving are ordered: a viewer is sent {@code joined}, then the batches it missed, then every
 * later batch, each once. The lock is held while frames are queued for viewers; queuing never
 * blocks and never calls back into the registry.
 */
final class Room implements RoomFeed.Listener {

    private static final Logger log = LoggerFactory.getLogger(Room.class);

    private final String name;
    private final BusCodec busCodec;
    private final Codecs codecs;
    private final Clock clock;
    private final int maxReplay;
    private final RoomRing ring;
    private final Set<RoomViewer> viewers = new HashSet<>();
    private final List<PendingJoin> pending = new ArrayList<>();
    /** The next offset the feed will read. */
    private long position;
    /**
     * The seq of the room's latest batch: of the last one read, or, before one was read, the
     * offset just before reading started (-1 from the topic's start). Every later batch has a
     * greater seq. It differs from {@code position - 1} when transaction markers follow a batch.
     */
    private long latestSeq = -1;
    private boolean ready;
    private boolean closed;
    /** The viewer count of the latest batch that carried one (the sum over gateways), or null. */
    private @Nullable Integer lastViewers;
    private final Function<String, @Nullable RoomState> states;
    private @Nullable Disposable following;

    Room(String name, RoomRing ring, BusCodec busCodec, Codecs codecs, Clock clock, int maxReplay) {
        this(name, ring, busCodec, codecs, clock, maxReplay, room -> null);
    }

    /** @param states the rooms' committed state (null: none): likes, gift totals and top of {@code joined} */
    Room(String name, RoomRing ring, BusCodec busCodec, Codecs codecs, Clock clock, int maxReplay,
         Function<String, @Nullable RoomState> states) {
        this.states = states;
        this.name = name;
        this.ring = ring;
        this.busCodec = busCodec;
        this.codecs = codecs;
        this.clock = clock;
        this.maxReplay = maxReplay;
    }

    /** A viewer waiting for {@code joined}; {@code sink} completes once it was sent (or dropped). */
    record PendingJoin(RoomViewer viewer, @Nullable Long since, MonoSink<Void> sink) {
    }

    String name() {
        return name;
    }

    /** Starts the feed for this room, once. */
    synchronized void follow(RoomFeed feed) {
        if (following == null && !closed) {
            following = feed.follow(name, this);
        }
    }

    /**
     * Joins now if the feed has caught up, else when it has. The join's sink completes once
     * {@code joined} was queued for the viewer, or when the join is dropped by {@link #leave}.
     *
     * @return false when the room was closed meanwhile: the caller must use a new room
     */
    boolean join(PendingJoin join) {
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (!ready) {
                pending.removeIf(p -> p.viewer() == join.viewer());
                pending.add(join);
                return true;
            }
            admit(join);
        }
        join.sink().success(); // outside the lock: the sink's subscriber runs on this thread
        return true;
    }

    /**
     * Removes a viewer (joined or waiting).
     *
     * @return true when the room has no viewer left and is now closed: the caller drops it
     */
    boolean leave(RoomViewer viewer) {
        List<PendingJoin> dropped = new ArrayList<>();
        boolean nowClosed;
        synchronized (this) {
            viewers.remove(viewer);
            for (Iterator<PendingJoin> it = pending.iterator(); it.hasNext(); ) {
                PendingJoin join = it.next();
                if (join.viewer() == viewer) {
                    it.remove();
                    dropped.add(join);
                }
            }
            nowClosed = closeIfEmpty();
        }
        dropped.forEach(join -> join.sink().success());
        return nowClosed;
    }

    /** A waiting join was given up (timeout, connection closed). Same result as {@link #leave}. */
    synchronized boolean cancel(PendingJoin join) {
        pending.remove(join);
        return closeIfEmpty();
    }

    synchronized int viewerCount() {
        return viewers.size();
    }

    synchronized long latestSeq() {
        return latestSeq;
    }

    synchronized boolean isReady() {
        return ready;
    }

    synchronized boolean isClosed() {
        return closed;
    }

    synchronized int ringSize() {
        return ring.size();
    }

    @Override
    public synchronized void onStart(long offset) {
        if (closed) {
            return;
        }
        boolean restarted = ready && offset - 1 < latestSeq;
        position = offset;
        latestSeq = offset - 1;
        ring.reset(offset);
        lastViewers = null;
        if (restarted) {
            // The room's topic was deleted (idle) or recreated: its seqs start again. Viewers are
            // told with a new joined (recovered false, the lower seq) before any batch of the new topic.
            log.atInfo().addKeyValue("room", name).log("Room {} starts over at seq {}; telling its {} viewers",
                    name, latestSeq, viewers.size());
            Outbound joined = Outbound.of(ServerFrame.Joined.of(name, latestSeq, false));
            viewers.removeIf(viewer -> !viewer.deliver(joined));
        }
    }

    @Override
    public void onRecords(List<RoomFeed.FeedRecord> records, long newPosition) {
        // decode outside the lock: the lock only orders appends and joins
        List<SharedBatch> batches = new ArrayList<>(records.size());
        for (RoomFeed.FeedRecord record : records) {
            SharedBatch batch = decode(record);
            if (batch != null) {
                batches.add(batch);
            }
        }
        synchronized (this) {
            if (closed) {
                return;
            }
            long now = clock.millis();
            for (SharedBatch batch : batches) {
                if (batch.seq() < position) {
                    continue; // never backwards: a seq is delivered at most once
                }
                ring.add(batch, now);
                if (batch.batch().viewers() != null) {
                    lastViewers = batch.batch().viewers();
                }
                position = batch.seq() + 1;
                latestSeq = batch.seq();
                if (ready) {
                    for (RoomViewer viewer : viewers) {
                        viewer.deliver(batch);
                    }
                }
            }
            position = Math.max(position, newPosition);
        }
    }

    @Override
    public void onReady(long readyPosition) {
        List<PendingJoin> admitted;
        synchronized (this) {
            if (closed || ready) {
                return;
            }
            position = Math.max(position, readyPosition);
            ready = true;
            admitted = new ArrayList<>(pending);
            pending.clear();
            admitted.forEach(this::admit);
        }
        admitted.forEach(join -> join.sink().success());
    }

    /**
     * Sends {@code joined} and the missed batches, then adds the viewer to the live ones. The
     * caller completes the join's sink once it has released the lock.
     */
    private void admit(PendingJoin join) {
        RoomViewer viewer = join.viewer();
        viewers.remove(viewer); // a join of a joined room resumes again from its since
        long seq = latestSeq;
        List<SharedBatch> replay = List.of();
        boolean recovered = false;
        Long since = join.since();
        if (since != null && since <= seq) {
            List<SharedBatch> missed = ring.after(since, clock.millis());
            // a replay that cannot fit the viewer's queue would close it: continue from live instead
            if (missed != null && missed.size() <= maxReplay) {
                replay = missed;
                recovered = true;
            }
        }
        boolean delivered = viewer.deliver(Outbound.of(joined(seq, recovered)));
        for (SharedBatch batch : replay) {
            delivered = delivered && viewer.deliver(batch);
        }
        if (delivered) {
            viewers.add(viewer);
        }
    }

    /**
     * {@code joined} with the room now: viewers as the latest batch counted them (over every
     * gateway; before any, this node's own, the joining viewer included), and likes, gift totals
     * and the top list from the room's state as this node last read it.
     */
    private ServerFrame.Joined joined(long seq, boolean recovered) {
        int viewerCount = lastViewers != null ? lastViewers : viewers.size() + 1;
        RoomState state = states.apply(name);
        if (state == null) {
            return new ServerFrame.Joined(name, seq, recovered, viewerCount, 0L, Map.of(), List.of());
        }
        return new ServerFrame.Joined(name, seq, recovered, viewerCount, state.likes(), state.gifts(), state.top());
    }

    private boolean closeIfEmpty() {
        if (closed || !viewers.isEmpty() || !pending.isEmpty()) {
            return closed;
        }
        closed = true;
        if (following != null) {
            following.dispose(); // inside the lock: ordered before a new room's follow of the same name
        }
        return true;
    }

    private @Nullable SharedBatch decode(RoomFeed.FeedRecord record) {
        try {
            ServerFrame.Batch batch = busCodec.decodeBatch(record.value());
            if (!batch.room().equals(name)) {
                log.atWarn().addKeyValue(LogKeys.ROOM, name).log(
                        "Skipping a batch of room {} found in the topic of room {} at offset {}",
                        batch.room(), name, record.offset());
                return null;
            }
            return new SharedBatch(batch.withSeq(record.offset()), record.timestamp(), codecs);
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue(LogKeys.ROOM, name).log(
                    "Skipping an undecodable record in room {} at offset {}: {}", name, record.offset(), e.toString());
            return null;
        }
    }
}
