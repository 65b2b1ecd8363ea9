package dev.danmaku.aggregator;

import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A real gateway in the test JVM, against the test broker, and its clients over real WebSocket
 * connections (the JDK's client, not our code): {@link Viewer}s that watch a room and
 * {@link Sender}s that send gifts and wait for their acks. The aggregator's end-to-end crash
 * tests see what viewers see.
 */
final class TestGateway implements AutoCloseable {

    static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final Duration WAIT = Duration.ofSeconds(60);

    private final ConfigurableApplicationContext context;
    private final int port;

    TestGateway() {
        context = GatewayApplication.builder().properties(
                "server.port=0",
                "danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                "danmaku.node-id=" + TestKafka.unique("gw"),
                "danmaku.dev-mode=true",
                "danmaku.auth.jwt-secret=" + TestKafka.unique("secret") + "-0123456789abcdef0123456789abcdef",
                // three clients send a thousand gifts as fast as the gateway acknowledges them
                "danmaku.limits.sends-per-second=1000", "danmaku.limits.send-burst=2000",
                // a loaded machine: a send is answered "unavailable" (and sent again) only after long
                "danmaku.ingress.answer-timeout=10s", "danmaku.kafka.delivery-timeout=10s",
                // a viewer that resumes must find every batch it missed, however slow the run
                "danmaku.feed.ring-max-age=10m",
                "danmaku.drain.period=1s").run();
        port = ((WebServerApplicationContext) context).getWebServer().getPort();
    }

    /** A viewer of {@code room}, connected and joined. */
    Viewer viewer(String room) {
        Viewer viewer = new Viewer(room);
        viewer.connect(null);
        return viewer;
    }

    /** A signed-in client (a dev token for a new user named {@code name}), connected. */
    Sender sender(String name) {
        String body = JSON.writeValueAsString(Map.of("name", name, "role", "viewer", "rooms", List.of()));
        JsonNode answer = JSON.readTree(post("/api/dev/tokens", body));
        Sender sender = new Sender(answer.path("user").path("id").asString());
        sender.socket.connect("token=" + answer.path("token").asString());
        return sender;
    }

    /** {@code GET /api/rooms/{room}}: the room's snapshot as the gateway serves it. */
    JsonNode snapshot(String room) {
        return JSON.readTree(get("/api/rooms/" + room));
    }

    private String post(String path, String body) {
        return send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private String get(String path) {
        return send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).build());
    }

    private static String send(HttpRequest request) {
        try {
            HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException(request.uri() + ": HTTP " + response.statusCode() + " " + response.body());
            }
            return response.body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        context.close();
    }

    /** One WebSocket connection that records every text frame it receives until it is closed by the test. */
    private class Socket implements WebSocket.Listener {

        final List<JsonNode> frames = new CopyOnWriteArrayList<>();
        private final StringBuilder partial = new StringBuilder();
        private boolean closed; // guarded by this
        private volatile @Nullable WebSocket ws;

        void connect(String query) {
            // one HttpClient per WebSocket: the JDK's client corrupts text frames now and then when many
            // WebSockets share one (docs/gateway.md, "Testing with the JDK client")
            ws = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(10))
                    .buildAsync(URI.create("ws://localhost:" + port + "/ws?" + query), this)
                    .orTimeout(30, TimeUnit.SECONDS).join();
            awaitFrame(f -> f.path("type").asString().equals("welcome"));
        }

        JsonNode awaitFrame(Predicate<JsonNode> matching) {
            return await().atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .until(() -> frames.stream().filter(matching).findFirst().orElse(null), f -> f != null);
        }

        void send(String json) {
            WebSocket socket = ws;
            if (socket == null) {
                throw new IllegalStateException("not connected");
            }
            socket.sendText(json, true).orTimeout(30, TimeUnit.SECONDS).join();
        }

        /** Closes the connection; frames that arrive afterwards are not recorded. */
        void close() {
            synchronized (this) {
                closed = true;
            }
            WebSocket socket = ws;
            if (socket != null) {
                socket.abort();
            }
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                JsonNode frame = JSON.readTree(partial.toString());
                partial.setLength(0);
                synchronized (this) { // not after close(): a resumed viewer gets what this one did not
                    if (!closed) {
                        onFrame(frame);
                    }
                }
            }
            webSocket.request(1);
            return null;
        }

        void onFrame(JsonNode frame) {
            frames.add(frame);
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            return CompletableFuture.completedFuture(null);
        }
    }

    /**
     * A viewer of one room. It may {@link #reconnect()} as a client does: a new connection that
     * joins with {@code since} = the last seq it saw. Its batches are those of all its connections.
     */
    final class Viewer implements AutoCloseable {

        private final String room;
        private final List<JsonNode> batches = new CopyOnWriteArrayList<>();
        private final AtomicInteger reconnects = new AtomicInteger();
        private Socket socket = new Socket();

        private Viewer(String room) {
            this.room = room;
        }

        private void connect(@Nullable Long since) {
            Socket next = new Socket() {
                @Override
                void onFrame(JsonNode frame) {
                    super.onFrame(frame);
                    if (frame.path("type").asString().equals("batch") && frame.path("room").asString().equals(room)) {
                        batches.add(frame);
                    }
                }
            };
            socket = next;
            next.connect("room=" + room + (since == null ? "" : "&since=" + since));
            JsonNode joined = next.awaitFrame(f -> f.path("type").asString().equals("joined"));
            if (since != null && !joined.path("recovered").asBoolean()) {
                throw new AssertionError("resumed from seq " + since + " without recovery: " + joined);
            }
        }

        /** Closes this viewer's connection and joins again on a new one with {@code since} = the last seq seen. */
        void reconnect() {
            socket.close();
            long since = lastSeq();
            if (since < 0) {
                throw new IllegalStateException("no batch seen yet");
            }
            connect(since);
            reconnects.incrementAndGet();
        }

        long lastSeq() {
            return batches.isEmpty() ? -1 : batches.get(batches.size() - 1).path("seq").asLong();
        }

        /** The sum of the gift counts of every batch this viewer received. */
        int giftCount() {
            int count = 0;
            for (JsonNode batch : batches) {
                for (JsonNode gift : batch.path("gifts")) {
                    count += gift.path("count").asInt();
                }
            }
            return count;
        }

        List<Long> seqs() {
            return batches.stream().map(b -> b.path("seq").asLong()).toList();
        }

        /** The totals of the last batch that carried them. */
        @Nullable JsonNode lastTotals() {
            JsonNode last = null;
            for (JsonNode batch : batches) {
                if (batch.has("totals")) {
                    last = batch.path("totals");
                }
            }
            return last;
        }

        int reconnects() {
            return reconnects.get();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /** A signed-in client that sends gifts and waits for their acks, sending again what was refused. */
    final class Sender implements AutoCloseable {

        final String userId;
        private final Map<String, AtomicInteger> acks = new ConcurrentHashMap<>();
        private final Map<String, AtomicInteger> errors = new ConcurrentHashMap<>();
        private final Socket socket = new Socket() {
            @Override
            void onFrame(JsonNode frame) {
                String type = frame.path("type").asString();
                if (type.equals("ack")) {
                    acks.computeIfAbsent(frame.path("id").asString(), id -> new AtomicInteger()).incrementAndGet();
                } else if (type.equals("error")) {
                    errors.computeIfAbsent(frame.path("id").asString(), id -> new AtomicInteger()).incrementAndGet();
                } else {
                    super.onFrame(frame);
                }
            }
        };

        private Sender(String userId) {
            this.userId = userId;
        }

        void gift(String room, String id) {
            socket.send("{\"type\":\"gift\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"gift\":\"rose\",\"count\":1}");
        }

        int acks(String id) {
            AtomicInteger n = acks.get(id);
            return n == null ? 0 : n.get();
        }

        int errors(String id) {
            AtomicInteger n = errors.get(id);
            return n == null ? 0 : n.get();
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    /** One gift to send: gift {@code id} to {@code room} by sender {@code sender}. */
    record Send(int sender, String room, String id) {
    }

    /**
     * Sends these gifts and waits until each is acknowledged (once more than before). A send
     * answered with an error ({@code unavailable} while the broker is slow) is sent again with the
     * same id after a second, as a client does.
     *
     * @return how many sends were repeated after an error
     */
    static int sendUntilAcked(List<Sender> senders, List<Send> sends) {
        Map<Send, int[]> pending = new HashMap<>(); // acks and errors seen before, when last sent
        Map<Send, Long> sentAt = new HashMap<>();
        for (Send send : sends) {
            Sender sender = senders.get(send.sender());
            pending.put(send, new int[] {sender.acks(send.id()), sender.errors(send.id())});
            sentAt.put(send, System.nanoTime());
            sender.gift(send.room(), send.id());
        }
        Set<Send> left = new HashSet<>(sends);
        int[] repeated = {0};
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(100))
                .alias("acks for " + sends.size() + " gifts").until(() -> {
                    for (Iterator<Send> it = left.iterator(); it.hasNext(); ) {
                        Send send = it.next();
                        Sender sender = senders.get(send.sender());
                        int[] before = pending.get(send);
                        if (sender.acks(send.id()) > before[0]) {
                            it.remove();
                        } else if (sender.errors(send.id()) > before[1]
                                && System.nanoTime() - sentAt.get(send) > 1_000_000_000L) {
                            before[1] = sender.errors(send.id());
                            sentAt.put(send, System.nanoTime());
                            sender.gift(send.room(), send.id());
                            repeated[0]++;
                        }
                    }
                    return left.isEmpty();
                });
        return repeated[0];
    }

    /** Gifts {@code g-from} .. {@code g-(to-1)} to {@code room}: gift i by sender i % 3. */
    static List<Send> gifts(String room, int from, int to) {
        List<Send> sends = new ArrayList<>();
        for (int i = from; i < to; i++) {
            sends.add(new Send(i % 3, room, "g-" + i));
        }
        return sends;
    }
}
