package dev.danmaku.loadtest;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Follows the {@code seq} of a room's batches as one viewer receives them: the last one seen (what
 * the viewer resumes {@code since}) and any batch that is not after the one before it (a duplicate
 * or a batch out of order, which PROTOCOL.md rules out). Pure functions over text frames; the state
 * lives in the Gatling session.
 */
final class SeqTracker {

    /**
     * The first {@code "seq":n} of a JSON frame. A batch's nested objects (comments, likes, gifts,
     * totals) have no {@code seq}, and a quote inside a string is escaped ({@code \"}), so the first
     * match is the batch's own.
     */
    private static final Pattern SEQ = Pattern.compile("\"seq\":(-?\\d+)");
    private static final String BATCH = "\"type\":\"batch\"";

    /** What a run of frames did to a viewer's position. */
    record Progress(long lastSeq, int batches, int outOfOrder) {
    }

    private SeqTracker() {
    }

    /**
     * Reads text frames in the order they arrived.
     *
     * @param lastSeq the last seq the viewer saw before them
     */
    static Progress follow(long lastSeq, List<String> frames) {
        long last = lastSeq;
        int batches = 0;
        int outOfOrder = 0;
        for (String frame : frames) {
            if (!frame.contains(BATCH)) {
                continue;
            }
            Matcher seq = SEQ.matcher(frame);
            if (!seq.find()) {
                continue;
            }
            long value = Long.parseLong(seq.group(1));
            batches++;
            if (value <= last) {
                outOfOrder++;
            } else {
                last = value;
            }
        }
        return new Progress(last, batches, outOfOrder);
    }
}
