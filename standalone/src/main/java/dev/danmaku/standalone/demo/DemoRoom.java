package dev.danmaku.standalone.demo;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * A living room for a new user to look at: simulated viewers, each a real client of a gateway's
 * {@code /ws} with a dev token, who join the room and chat, like and send gifts (in streaks, so
 * that combos show). Everything runs on one scheduler thread of its own, never on a gateway's
 * event loop; a bot whose connection drops connects again on a later tick.
 *
 * <p>The one-machine launcher starts it unless {@code DANMAKU_DEMO=false}.
 */
public final class DemoRoom implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DemoRoom.class);
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Duration TICK = Duration.ofMillis(100);
    private static final String[] NAMES = {"Mika", "Bo", "Chen", "Aiko", "Lars", "Noor", "Tomás", "Yui", "Ravi",
        "Zoe", "Kenji", "Ines"};
    private static final String[] PHRASES = {"233333", "哈哈哈哈哈", "前方高能!!!", "awesome", "666666", "来了来了",
        "what a play", "gg", "this is so good", "弹幕护体", "lol", "hello from Berlin", "again!", "wow",
        "名场面", "first time here", "can't stop watching", "yyds", "hi everyone", "nice nice nice"};
    private static final String[] COLORS = {"#ffffff", "#ffffff", "#ffffff", "#ffe600", "#41aaff", "#fe0302", "#00cd00"};

    private final URI base;
    private final String room;
    private final double commentsPerSecond;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "danmaku-demo");
        thread.setDaemon(true);
        return thread;
    });
    private final List<Bot> bots = new ArrayList<>();
    private final AtomicLong ids = new AtomicLong();

    private DemoRoom(URI base, String room, int viewers, double commentsPerSecond) {
        this.base = base;
        this.room = room;
        this.commentsPerSecond = commentsPerSecond;
        for (int i = 0; i < viewers; i++) {
            bots.add(new Bot(NAMES[i % NAMES.length] + (i < NAMES.length ? "" : String.valueOf(i))));
        }
    }

    /**
     * Starts {@code viewers} simulated viewers in {@code room} of the gateway at {@code base}
     * (for example {@code http://localhost:8080}), sending about {@code commentsPerSecond}
     * comments a second between them.
     */
    public static DemoRoom start(URI base, String room, int viewers, double commentsPerSecond) {
        DemoRoom demo = new DemoRoom(base, room, viewers, commentsPerSecond);
        demo.scheduler.scheduleWithFixedDelay(demo::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
        return demo;
    }

    /** Simulated viewers connected now. */
    public int connected() {
        return (int) bots.stream().filter(Bot::isOpen).count();
    }

    private void tick() {
        try {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            double perBotPerTick = commentsPerSecond * TICK.toMillis() / 1000.0 / bots.size();
            for (Bot bot : bots) {
                if (!bot.isOpen()) {
                    bot.connect();
                    continue;
                }
                if (random.nextDouble() < perBotPerTick) {
                    bot.comment(random);
                }
                if (random.nextDouble() < 0.04) {
                    bot.send(Map.of("type", "like", "room", room, "count", 1 + random.nextInt(5)));
                }
                bot.maybeGift(random);
            }
        } catch (RuntimeException e) {
            log.debug("demo tick failed", e); // a gateway going away: next tick tries again
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        bots.forEach(Bot::close);
    }

    /** One simulated viewer. Used only on the scheduler thread (and by close). */
    private final class Bot implements WebSocket.Listener {

        private final String name;
        /**
         * Its WebSocket's own client: the JDK's client now and then corrupts a text frame when many
         * WebSockets share one HttpClient (docs/gateway.md, "Testing with the JDK client").
         */
        private final HttpClient client = HttpClient.newHttpClient();
        private @Nullable String token;
        private @Nullable WebSocket socket;
        private long nextAttempt;
        private @Nullable String streakGift;
        private int streakLeft;

        Bot(String name) {
            this.name = name;
        }

        boolean isOpen() {
            WebSocket ws = socket;
            return ws != null && !ws.isOutputClosed() && !ws.isInputClosed();
        }

        void connect() {
            long now = System.currentTimeMillis();
            if (now < nextAttempt) {
                return;
            }
            nextAttempt = now + 2000 + ThreadLocalRandom.current().nextInt(2000);
            try {
                if (token == null) {
                    token = devToken();
                }
                URI ws = URI.create(base.toString().replaceFirst("^http", "ws") + "/ws?room=" + room + "&token=" + token);
                socket = client.newWebSocketBuilder().subprotocols("danmaku.v1.json")
                        .buildAsync(ws, this).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                socket = null;
                log.debug("demo viewer {} could not connect", name, e);
            }
        }

        private String devToken() throws Exception {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve("/api/dev/tokens"))
                            .header("Content-Type", "application/json")
                            .timeout(Duration.ofSeconds(5))
                            .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(
                                    Map.of("name", name, "role", "viewer", "rooms", List.of())))).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("dev token: HTTP " + response.statusCode() + " (is dev mode on?)");
            }
            return JSON.readTree(response.body()).path("token").asString();
        }

        void comment(ThreadLocalRandom random) {
            double r = random.nextDouble();
            String mode = r < 0.9 ? "scroll" : r < 0.95 ? "top" : "bottom";
            send(Map.of("type", "comment", "room", room, "id", "demo-" + ids.incrementAndGet() + "-" + random.nextInt(1 << 20),
                    "text", PHRASES[random.nextInt(PHRASES.length)], "color", COLORS[random.nextInt(COLORS.length)],
                    "mode", mode));
        }

        void maybeGift(ThreadLocalRandom random) {
            if (streakGift == null && random.nextDouble() < 0.004) {
                double r = random.nextDouble();
                streakGift = r < 0.6 ? "heart" : r < 0.9 ? "rose" : r < 0.98 ? "rocket" : "carnival";
                streakLeft = 1 + random.nextInt(streakGift.equals("heart") ? 12 : 4);
            }
            if (streakGift != null && random.nextDouble() < 0.3) {
                send(Map.of("type", "gift", "room", room, "id", "demo-g-" + ids.incrementAndGet() + "-" + random.nextInt(1 << 20),
                        "gift", streakGift, "count", 1));
                if (--streakLeft <= 0) {
                    streakGift = null;
                }
            }
        }

        void send(Map<String, Object> frame) {
            WebSocket ws = socket;
            if (ws != null && !ws.isOutputClosed()) {
                // the JDK client allows one outstanding send: a bot that is still sending skips this one
                try {
                    ws.sendText(JSON.writeValueAsString(frame), true).get(2, TimeUnit.SECONDS);
                } catch (Exception e) {
                    ws.abort();
                }
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            webSocket.request(1); // read and forget: a bot watches nothing
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, java.nio.ByteBuffer data, boolean last) {
            webSocket.request(1);
            return null;
        }

        void close() {
            WebSocket ws = socket;
            if (ws != null && !ws.isOutputClosed()) {
                ws.sendClose(WebSocket.NORMAL_CLOSURE, "demo over").orTimeout(2, TimeUnit.SECONDS)
                        .whenComplete((ok, error) -> ws.abort());
            }
        }
    }
}
