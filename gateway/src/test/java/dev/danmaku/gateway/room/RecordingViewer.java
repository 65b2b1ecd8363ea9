package dev.danmaku.gateway.room;

import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.protocol.ServerFrame;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A viewer that keeps what it was delivered, with a capacity (0: unbounded). */
final class RecordingViewer implements RoomViewer {

    final List<Outbound> received = new CopyOnWriteArrayList<>();
    private final int capacity;

    RecordingViewer() {
        this(0);
    }

    RecordingViewer(int capacity) {
        this.capacity = capacity;
    }

    @Override
    public boolean deliver(Outbound item) {
        if (capacity > 0 && received.size() >= capacity) {
            return false;
        }
        received.add(item);
        return true;
    }

    List<ServerFrame.Joined> joined() {
        return received.stream()
                .filter(o -> o instanceof Outbound.Frame f && f.frame() instanceof ServerFrame.Joined)
                .map(o -> (ServerFrame.Joined) ((Outbound.Frame) o).frame())
                .toList();
    }

    List<Long> seqs() {
        return received.stream().filter(o -> o instanceof SharedBatch).map(o -> ((SharedBatch) o).seq()).toList();
    }

    /** What arrived, in order: "joined:<seq>:<recovered>" or the batch's seq. */
    List<String> timeline() {
        return received.stream().map(o -> o instanceof SharedBatch b ? String.valueOf(b.seq())
                : o instanceof Outbound.Frame f && f.frame() instanceof ServerFrame.Joined j
                        ? "joined:" + j.seq() + ":" + j.recovered() : o.toString()).toList();
    }
}
