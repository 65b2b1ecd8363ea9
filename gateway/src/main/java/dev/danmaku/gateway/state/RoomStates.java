package dev.danmaku.gateway.state;

import dev.danmaku.protocol.bus.RoomState;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The latest committed state of each room this gateway knows of. Thread-safe, never blocks. */
public interface RoomStates {

    /** The room's state, or null when the room has none (yet, or evicted from the cache). */
    @Nullable RoomState get(String room);

    /** Every cached room's state (a copy). */
    List<RoomState> all();
}
