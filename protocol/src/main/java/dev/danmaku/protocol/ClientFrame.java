package dev.danmaku.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import org.jspecify.annotations.Nullable;

/**
 * A frame a client sends (PROTOCOL.md, "Client → server"). Each record checks the fixed
 * rules of {@link Rules} in its constructor; configurable limits are checked by
 * {@link Limits#check(ClientFrame)}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
        @JsonSubTypes.Type(value = ClientFrame.Join.class, name = "join"),
        @JsonSubTypes.Type(value = ClientFrame.Leave.class, name = "leave"),
        @JsonSubTypes.Type(value = ClientFrame.Comment.class, name = "comment"),
        @JsonSubTypes.Type(value = ClientFrame.Like.class, name = "like"),
        @JsonSubTypes.Type(value = ClientFrame.Gift.class, name = "gift"),
        @JsonSubTypes.Type(value = ClientFrame.Ping.class, name = "ping"),
        @JsonSubTypes.Type(value = ClientFrame.Mute.class, name = "mute"),
        @JsonSubTypes.Type(value = ClientFrame.SlowMode.class, name = "slow_mode"),
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface ClientFrame {

    /** The message id that makes a send idempotent, for frames that have one. */
    default @Nullable String messageId() {
        return null;
    }

    /** A frame that targets a room. */
    sealed interface RoomFrame extends ClientFrame {
        String room();
    }

    /** Join a room; {@code since} is the last seq seen there (resume), or null. */
    record Join(String room, @Nullable Long since) implements RoomFrame {
        public Join {
            Rules.room(room);
            if (since != null && since < -1) {
                throw ProtocolException.badRequest("since must be >= -1");
            }
        }
    }

    record Leave(String room) implements RoomFrame {
        public Leave {
            Rules.room(room);
        }
    }

    record Comment(String room, String id, String text, String color, Mode mode) implements RoomFrame {
        public Comment(String room, String id, String text, @Nullable String color, @Nullable Mode mode) {
            String checkedId = Rules.messageId(id);
            try {
                this.room = Rules.room(room);
                this.id = checkedId;
                this.text = Rules.required(text, "text");
                this.color = Rules.color(color);
                this.mode = mode == null ? Mode.SCROLL : mode;
            } catch (ProtocolException e) {
                throw e.withId(checkedId);
            }
        }

        public Comment withText(String newText) {
            return newText.equals(text) ? this : new Comment(room, id, newText, color, mode);
        }

        @Override
        public String messageId() {
            return id;
        }
    }

    record Like(String room, int count) implements RoomFrame {
        @JsonCreator
        public Like(String room, @Nullable Integer count) {
            this(Rules.room(room), Rules.inRange(count == null ? 1 : count, 1, Rules.MAX_LIKES_PER_FRAME, "count"));
        }
    }

    record Gift(String room, String id, String gift, int count) implements RoomFrame {
        @JsonCreator
        public Gift(String room, String id, String gift, @Nullable Integer count) {
            this(room, id, gift, count == null ? 1 : count.intValue());
        }

        public Gift {
            Rules.messageId(id);
            try {
                Rules.room(room);
                Rules.required(gift, "gift");
                if (!Rules.ID.matcher(gift).matches()) {
                    throw new ProtocolException(ErrorCode.UNKNOWN_GIFT, "no such gift: " + gift);
                }
                Rules.inRange(count, 1, Rules.MAX_GIFTS_PER_FRAME, "count");
            } catch (ProtocolException e) {
                throw e.withId(id);
            }
        }

        @Override
        public String messageId() {
            return id;
        }
    }

    /** A heartbeat from a client that cannot send WebSocket PING frames; echoed in {@code pong}. */
    record Ping(@Nullable Long ts) implements ClientFrame {
    }

    /** Silence {@code user} in {@code room} for {@code seconds}: streamers and moderators only. */
    record Mute(String room, String user, int seconds) implements RoomFrame {
        @JsonCreator
        public Mute(String room, String user, @Nullable Integer seconds) {
            this(room, user, Rules.required(seconds, "seconds").intValue());
        }

        public Mute {
            Rules.room(room);
            Rules.userId(user);
            Rules.inRange(seconds, 1, Rules.MAX_MUTE_SECONDS, "seconds");
        }
    }

    /**
     * Puts {@code room} in slow mode: one comment per user every {@code seconds}, no burst; 0 ends
     * the slow mode set this way (the configured one, if any, applies again). The room's streamer
     * (and admins) only. A project extension (docs/protocol.md), not in PROTOCOL.md.
     */
    record SlowMode(String room, int seconds) implements RoomFrame {
        @JsonCreator
        public SlowMode(String room, @Nullable Integer seconds) {
            this(room, Rules.required(seconds, "seconds").intValue());
        }

        public SlowMode {
            Rules.room(room);
            Rules.inRange(seconds, 0, Rules.MAX_SLOW_MODE_SECONDS, "seconds");
        }
    }
}
