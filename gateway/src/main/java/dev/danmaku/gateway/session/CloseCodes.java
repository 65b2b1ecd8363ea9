package dev.danmaku.gateway.session;

import dev.danmaku.protocol.CloseCode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * How this node's connections ended, by the code of the first close frame (the client's, when it
 * closed first: 1000 is a page that closed cleanly, 1001 a browser unloading a page that did not;
 * the server's own otherwise): the protocol's codes, 1006 (the socket was lost), {@code other},
 * and {@code none} (no close code was seen).
 */
public final class CloseCodes {

    /** The {@code code} tag values. */
    public static final List<String> CODES;

    static {
        List<String> codes = new ArrayList<>();
        for (CloseCode code : CloseCode.values()) {
            codes.add(Integer.toString(code.code()));
        }
        codes.add("1006");
        codes.add("other");
        codes.add("none");
        CODES = List.copyOf(codes);
    }

    private final LongAdder[] counts = new LongAdder[CODES.size()];

    public CloseCodes() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    void record(int code) {
        int index = CODES.indexOf(Integer.toString(code));
        counts[index >= 0 ? index : CODES.indexOf("other")].increment();
    }

    void recordNone() {
        counts[CODES.size() - 1].increment();
    }

    /** Connections that ended with this {@code code} tag value (one of {@link #CODES}). */
    public long count(String code) {
        int index = CODES.indexOf(code);
        if (index < 0) {
            throw new IllegalArgumentException("no such code tag: " + code);
        }
        return counts[index].sum();
    }
}
