package dev.danmaku.jmh;

import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Mode;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Realistic traffic for the benchmarks: a busy room's batch (35 comments of mixed length and script,
 * likes, a gift, the viewer count) and the frames viewers send. Deterministic, so that runs compare.
 */
final class Fixtures {

    static final String ROOM = "live-42";
    static final int COMMENTS = 35;

    private static final String[] TEXTS = {
            "233333", "哈哈哈哈哈哈", "前方高能!!!", "this is the best part", "awsl",
            "lol 😂😂😂", "主播好厉害", "first time here, hello everyone", "888888", "🚀🚀🚀 to the moon",
            "wait what just happened??", "弹幕护体", "gg", "that combo was insane, replaying it twice", "名场面",
    };
    private static final String[] COLORS = {"#ffffff", "#ffffff", "#ffffff", "#fe0302", "#00cd00", "#ffaa02"};

    private Fixtures() {
    }

    static User user(int i) {
        return new User("user-" + Integer.toString(1_000_003 * (i + 1), 36), "viewer" + i, Role.VIEWER);
    }

    /** A window of a busy room: 35 comments, likes, one gift entry, totals unchanged (absent). */
    static ServerFrame.Batch batch() {
        long ts = 1_732_230_000_000L;
        List<ServerFrame.BatchComment> comments = new ArrayList<>(COMMENTS);
        for (int i = 0; i < COMMENTS; i++) {
            Mode mode = i % 11 == 0 ? Mode.TOP : Mode.SCROLL;
            comments.add(new ServerFrame.BatchComment("c-" + Integer.toString(7_919 * (i + 1), 36) + "x" + i,
                    user(i), TEXTS[i % TEXTS.length], COLORS[i % COLORS.length], mode, ts - 100 + i * 3));
        }
        List<ServerFrame.GiftEntry> gifts = List.of(new ServerFrame.GiftEntry(user(99), "rocket", 2, 2000, 5));
        return new ServerFrame.Batch(ROOM, 1_240, ts, comments, new ServerFrame.Likes(12, 45_690), gifts, 2_015, 0,
                null);
    }

    /** The same batch with gift totals and a top list, as a window with gifts carries them. */
    static ServerFrame.Batch batchWithTotals() {
        ServerFrame.Batch b = batch();
        List<ServerFrame.TopEntry> top = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            top.add(new ServerFrame.TopEntry(user(90 + i), 10_000 - i * 700));
        }
        ServerFrame.Totals totals = new ServerFrame.Totals(Map.of("rocket", new ServerFrame.GiftTotal(12, 12_000),
                "rose", new ServerFrame.GiftTotal(140, 1_400)), top);
        return new ServerFrame.Batch(b.room(), b.seq(), b.ts(), b.comments(), b.likes(), b.gifts(), b.viewers(),
                b.dropped(), totals);
    }

    /** A {@code comment} frame as a browser sends it (JSON text). */
    static String commentJson() {
        return "{\"type\":\"comment\",\"room\":\"" + ROOM + "\",\"id\":\"c-7f3a91\",\"text\":\"前方高能!!! 233333\","
                + "\"color\":\"#ffffff\",\"mode\":\"scroll\"}";
    }

    /** A {@code gift} frame (JSON text). */
    static String giftJson() {
        return "{\"type\":\"gift\",\"room\":\"" + ROOM + "\",\"id\":\"g-91bc\",\"gift\":\"rocket\",\"count\":1}";
    }

    /** A {@code comment} frame as the record the gateway publishes to the ingress topic. */
    static Ingress ingress() {
        return new Ingress("gw-1", "conn-8f2a", user(7), 1_732_230_000_050L,
                new ClientFrame.Comment(ROOM, "c-7f3a91", "前方高能!!! 233333", "#ffffff", Mode.SCROLL));
    }
}
