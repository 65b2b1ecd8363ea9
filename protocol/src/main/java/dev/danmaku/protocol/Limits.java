package dev.danmaku.protocol;

/**
 * The configurable limits of {@code PROTOCOL.md} ("Limits"), with their defaults.
 *
 * @param maxFrameBytes      largest inbound frame; larger ones close the connection with 1009
 * @param maxTextLength      longest comment text, in code points after trimming
 * @param maxRoomsPerConnection rooms one connection may have joined at once
 * @param commentsPerSecond  sustained comments per connection
 * @param commentBurst       burst of comments per connection
 */
public record Limits(int maxFrameBytes, int maxTextLength, int maxRoomsPerConnection,
                     int commentsPerSecond, int commentBurst) {

    public static final Limits DEFAULTS = new Limits(4096, 100, 10, 5, 10);

    public Limits {
        if (maxFrameBytes < 256 || maxTextLength < 1 || maxRoomsPerConnection < 1
                || commentsPerSecond < 1 || commentBurst < commentsPerSecond) {
            throw new IllegalArgumentException("invalid limits: maxFrameBytes >= 256, others >= 1, burst >= rate");
        }
    }

    /**
     * Checks a client frame against these limits and returns it normalized (a comment's text
     * trimmed). Throws {@link ProtocolException} with the frame's id when a limit is broken.
     */
    public ClientFrame check(ClientFrame frame) {
        if (frame instanceof ClientFrame.Comment comment) {
            return comment.withText(text(comment.text(), comment.id()));
        }
        return frame;
    }

    /** The text trimmed, if it is 1..{@link #maxTextLength} code points with no control character. */
    public String text(String raw, String id) {
        String text = raw.strip();
        if (text.isEmpty()) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "text is empty", id);
        }
        if (Rules.hasControl(text)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "text holds control characters", id);
        }
        if (text.codePointCount(0, text.length()) > maxTextLength) {
            throw new ProtocolException(ErrorCode.TOO_LONG,
                    "text is longer than " + maxTextLength + " characters", id);
        }
        return text;
    }
}
