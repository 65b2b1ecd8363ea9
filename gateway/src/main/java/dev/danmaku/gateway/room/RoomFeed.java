package dev.danmaku.gateway.room;

import java.util.List;
import reactor.core.Disposable;

/**
 * Reads the batches of the rooms that have local viewers (the port in front of Kafka). One
 * feed serves every room of a node.
 */
public interface RoomFeed {

    /**
     * Starts reading a room's batches for a listener. Calls to the listener come from one thread
     * (the feed's), never from the caller of this method, in this order:
     * {@link Listener#onStart} once, then {@link Listener#onRecords} any number of times, with
     * {@link Listener#onReady} once in between, as soon as the feed has read up to the end of the
     * room's topic as it was when this method was called. A later {@code onStart} means reading
     * restarted (the listener forgets what it had). Must not block.
     *
     * @return a handle whose {@code dispose()} stops reading for this listener; calls to the
     * listener may still arrive shortly after it, and must be ignored
     */
    Disposable follow(String room, Listener listener);

    /** Receives one room's batches, on the feed's thread. */
    interface Listener {

        /** Reading starts at this offset: every later batch of the room will be delivered, in order. */
        void onStart(long offset);

        /**
         * Records read from the room's topic, in offset order (possibly none), and the position the
         * feed has reached: the next offset to read, which may lie past the last record when the
         * topic holds transaction markers or aborted records.
         */
        void onRecords(List<FeedRecord> records, long position);

        /**
         * The feed has caught up: {@code position} is at least the end offset of the topic when
         * {@link #follow} was called (0 when the topic did not exist yet).
         */
        void onReady(long position);
    }

    /**
     * One record of a room topic.
     *
     * @param offset    its offset, the batch's seq
     * @param timestamp when it was written (epoch millis)
     * @param value     the batch as {@link dev.danmaku.protocol.codec.BusCodec} encoded it
     */
    record FeedRecord(long offset, long timestamp, byte[] value) {
    }
}
