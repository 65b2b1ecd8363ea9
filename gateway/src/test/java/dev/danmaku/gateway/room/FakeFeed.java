package dev.danmaku.gateway.room;

import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.BusCodec;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.Disposable;

/** A {@link RoomFeed} driven by the test: it calls the listeners itself. */
final class FakeFeed implements RoomFeed {

    final Map<String, Listener> listeners = new ConcurrentHashMap<>();
    final Map<String, Integer> follows = new ConcurrentHashMap<>();
    final Map<String, Boolean> disposed = new ConcurrentHashMap<>();
    private final BusCodec busCodec = new BusCodec();

    @Override
    public Disposable follow(String room, Listener listener) {
        listeners.put(room, listener);
        follows.merge(room, 1, Integer::sum);
        disposed.put(room, false);
        return new Disposable() {
            private volatile boolean done;

            @Override
            public void dispose() {
                done = true;
                if (listeners.get(room) == listener) {
                    listeners.remove(room);
                    disposed.put(room, true);
                }
            }

            @Override
            public boolean isDisposed() {
                return done;
            }
        };
    }

    Listener listener(String room) {
        Listener listener = listeners.get(room);
        if (listener == null) {
            throw new AssertionError("room " + room + " is not followed");
        }
        return listener;
    }

    /** A record holding an empty batch of the room, at this offset, written at {@code timestamp}. */
    FeedRecord record(String room, long offset, long timestamp) {
        ServerFrame.Batch batch = ServerFrame.Batch.ofComments(room, timestamp, List.of(), 0);
        return new FeedRecord(offset, timestamp, busCodec.encodeBatch(batch));
    }
}
