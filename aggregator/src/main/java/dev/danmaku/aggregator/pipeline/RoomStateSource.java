package dev.danmaku.aggregator.pipeline;

import dev.danmaku.protocol.bus.RoomState;
import java.util.Collection;
import java.util.function.Predicate;

/**
 * Where the loop reads back the rooms' committed state when it gets ingress partitions: the
 * compacted topic {@code danmaku.state}, read to its end. Called on the loop thread, which
 * waits for it.
 */
public interface RoomStateSource {

    /** Reads nothing: every room starts empty (tests without a broker). */
    RoomStateSource NONE = rooms -> java.util.List.of();

    /**
     * The latest committed state of every room that {@code rooms} accepts.
     *
     * @throws org.apache.kafka.common.KafkaException if the topic cannot be read to its end
     */
    Collection<RoomState> load(Predicate<String> rooms);
}
