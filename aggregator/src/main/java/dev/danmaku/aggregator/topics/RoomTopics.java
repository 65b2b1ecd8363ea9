package dev.danmaku.aggregator.topics;

/**
 * Makes sure a room's topic ({@code danmaku.room.<room>}) exists before a batch is sent to it
 * (the broker does not create topics on its own, and a send to a missing topic would block the
 * sender). Thread-safe; never blocks.
 */
public interface RoomTopics {

    /** Where a room's topic stands. */
    enum State {
        /** It exists: batches may be sent to it. */
        READY,
        /** It is being created (or retried after a retriable error). */
        PENDING,
        /**
         * It could not be created (a non-retriable error, or the attempts ran out). Reported once:
         * the next {@link #ensure} of the room starts over.
         */
        FAILED
    }

    /**
     * Starts creating the room's topic unless it exists or is being created; reports nothing
     * (a failure stays for {@link #ensure} to report). For a caller that will need the topic soon.
     */
    void prepare(String room);

    /** The room topic's state, starting its creation the first time a room is asked about. */
    State ensure(String room);

    /**
     * True when the room's topic is known to exist (this instance created it or found it); never
     * starts a creation. A room that never had a message has no topic, and asking must not make one.
     */
    boolean exists(String room);

    /**
     * Deletes the room's topic (the room has been idle for long) unless it is missing; a later
     * {@link #ensure} or {@link #prepare} of the room creates a fresh one once the deletion is done.
     *
     * @return completes with true when this call deleted the topic, false when there was none;
     *         exceptionally when it could not be deleted
     */
    java.util.concurrent.CompletionStage<Boolean> delete(String room);
}
