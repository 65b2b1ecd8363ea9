package dev.danmaku.gateway.room;

import dev.danmaku.gateway.fanout.Outbound;

/** A local viewer of rooms, as the {@link RoomRegistry} sees it: somewhere to deliver frames. */
public interface RoomViewer {

    /**
     * Queues an item for this viewer. Called under a room's lock, from the feed's thread or an
     * event loop, so it must not block and must not call back into the registry synchronously.
     *
     * @return false when the viewer is closing or its queue is full (it then closes itself)
     */
    boolean deliver(Outbound item);
}
