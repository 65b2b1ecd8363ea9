package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A frame the gateway sends (PROTOCOL.md, "Server → client"). Empty parts are left out. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ServerFrame.Welcome.class, name = "welcome"),
        @JsonSubTypes.Type(value = ServerFrame.Joined.class, name = "joined"),
        @JsonSubTypes.Type(value = ServerFrame.Batch.class, name = "batch"),
        @JsonSubTypes.Type(value = ServerFrame.Ack.class, name = "ack"),
        @JsonSubTypes.Type(value = ServerFrame.Error.class, name = "error"),
        @JsonSubTypes.Type(value = ServerFrame.Pong.class, name = "pong"),
        @JsonSubTypes.Type(value = ServerFrame.Left.class, name = "left"),
})
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public sealed interface ServerFrame {

    record Heartbeat(long interval, long timeout) {
    }

    record ClientLimits(int maxTextLength, int commentsPerSecond) {
        public static ClientLimits of(Limits limits) {
            return new ClientLimits(limits.maxTextLength(), limits.commentsPerSecond());
        }
    }

    /** First frame on every connection: who the server thinks you are and how to behave. */
    record Welcome(String conn, User user, Heartbeat heartbeat, ClientLimits limits) implements ServerFrame {
    }

    /**
     * The answer to {@code join}: {@code seq} is the room's latest batch seq (-1 for none);
     * every batch delivered after this frame has a greater seq.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Joined(String room, long seq, boolean recovered, @Nullable Integer viewers, @Nullable Long likes,
                  @Nullable Map<String, GiftTotal> gifts, @Nullable List<TopEntry> top) implements ServerFrame {
        public static Joined of(String room, long seq, boolean recovered) {
            return new Joined(room, seq, recovered, null, null, null, null);
        }
    }

    /**
     * One window of a room's traffic, as the aggregator made it. On the room topic it is
     * stored without a seq ({@code -1}); the gateway sets the record's offset as the seq.
     */
    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    record Batch(String room, long seq, long ts, @Nullable List<BatchComment> comments, @Nullable Likes likes,
                 @Nullable List<GiftEntry> gifts, @Nullable Integer viewers, @Nullable Integer dropped,
                 @Nullable Totals totals) implements ServerFrame {

        public Batch {
            Rules.room(room);
            comments = comments == null ? List.of() : List.copyOf(comments);
            gifts = gifts == null ? List.of() : List.copyOf(gifts);
        }

        public static Batch ofComments(String room, long ts, List<BatchComment> comments, int dropped) {
            return new Batch(room, -1, ts, comments, null, null, null, dropped, null);
        }

        public Batch withSeq(long newSeq) {
            return new Batch(room, newSeq, ts, comments, likes, gifts, viewers, dropped, totals);
        }
    }

    record Ack(String id) implements ServerFrame {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Error(@Nullable String id, ErrorCode code, String message, @Nullable Long retryAfterMs)
            implements ServerFrame {

        public static Error of(ProtocolException e) {
            return new Error(e.id(), e.code(), String.valueOf(e.getMessage()), null);
        }

        public static Error of(ErrorCode code, @Nullable String id) {
            return new Error(id, code, code.defaultMessage(), null);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record Pong(@Nullable Long ts, long serverTs) implements ServerFrame {
    }

    record Left(String room) implements ServerFrame {
    }

    /** A comment as every viewer sees it. */
    record BatchComment(String id, User user, String text, String color, Mode mode, long ts) {
    }

    record Likes(long delta, long total) {
    }

    /** One user's sends of one gift within a window; {@code combo} grows over a streak of windows. */
    record GiftEntry(User user, String gift, int count, long value, int combo) {
    }

    record GiftTotal(long count, long value) {
    }

    record TopEntry(User user, long value) {
    }

    @JsonInclude(JsonInclude.Include.NON_EMPTY)
    record Totals(@Nullable Map<String, GiftTotal> gifts, @Nullable List<TopEntry> top) {
    }
}
