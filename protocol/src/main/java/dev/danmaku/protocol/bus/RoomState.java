package dev.danmaku.protocol.bus;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.ServerFrame.TopEntry;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One room's state as the aggregator that owns the room last committed it, on the compacted
 * topic {@link Topics#STATE} (key = room). Written in the same Kafka transaction as the room's
 * batches and the consumed ingress offsets, so a {@code read_committed} reader sees exactly the
 * state that matches what was published; the next owner of the room's ingress partition starts
 * from it. Gateways may read it to serve a room's snapshot.
 *
 * @param room    the room
 * @param seq     the seq of the room's latest batch this state includes, -1 when none
 * @param ts      when it was written (epoch millis)
 * @param likes   the running like total
 * @param gifts   totals by gift id: how many were sent and their value in coins
 * @param gifters every gifter's total value (highest first, bounded); the first 10 are the top list
 * @param giftIds    gift ids already counted, with their ingress time (epoch millis): the
 *                   de-duplication horizon, bounded by time and count
 * @param commentIds comment ids already broadcast, likewise (a shorter, count-bounded horizon)
 * @param mutes   muted user ids, with the end of the mute (epoch millis)
 * @param recent  the room's latest comments, oldest first
 * @param slowMode the slow-mode interval its streamer set, in seconds; 0 when none (the configured
 *                 one, if any, applies)
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record RoomState(String room, long seq, long ts, long likes, Map<String, GiftTotal> gifts, List<TopEntry> gifters,
                        Map<String, Long> giftIds, Map<String, Long> commentIds, Map<String, Long> mutes,
                        List<BatchComment> recent, int slowMode) {

    /** How many gifters the room's top list shows. */
    public static final int TOP = 10;

    public RoomState(String room, long seq, long ts, long likes, @Nullable Map<String, GiftTotal> gifts,
                     @Nullable List<TopEntry> gifters, @Nullable Map<String, Long> giftIds,
                     @Nullable Map<String, Long> commentIds, @Nullable Map<String, Long> mutes,
                     @Nullable List<BatchComment> recent, int slowMode) {
        this.room = room;
        this.slowMode = slowMode;
        this.seq = seq;
        this.ts = ts;
        this.likes = likes;
        this.gifts = gifts == null ? Map.of() : gifts;
        this.gifters = gifters == null ? List.of() : gifters;
        this.giftIds = giftIds == null ? Map.of() : giftIds;
        this.commentIds = commentIds == null ? Map.of() : commentIds;
        this.mutes = mutes == null ? Map.of() : mutes;
        this.recent = recent == null ? List.of() : recent;
    }

    /** A room nothing happened in yet. */
    public static RoomState empty(String room) {
        return new RoomState(room, -1, 0, 0, null, null, null, null, null, null, 0);
    }

    /** The same state, including the batch at {@code newSeq}. */
    public RoomState withSeq(long newSeq) {
        return new RoomState(room, newSeq, ts, likes, gifts, gifters, giftIds, commentIds, mutes, recent, slowMode);
    }

    /** The top gifters by value, at most {@link #TOP}. */
    public List<TopEntry> top() {
        return gifters.size() <= TOP ? gifters : gifters.subList(0, TOP);
    }
}
