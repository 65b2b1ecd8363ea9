package dev.danmaku.standalone;

import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A viewer for the tests, on the JDK's own WebSocket client (not our code): it records every
 * frame it receives and how the connection closed.
 */
public final class WsClient implements WebSocket.Listener, AutoCloseable {

    public static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final List<JsonNode> frames = new CopyOnWriteArrayList<>();
    private final StringBuilder partial = new StringBuilder();
    private final AtomicInteger closeCode = new AtomicInteger(-1);
    private volatile @Nullable WebSocket socket;

    private WsClient() {
    }

    public static WsClient connect(int port, String query) {
        return connect(port, query, Map.of());
    }

    static WsClient connect(int port, String query, Map<String, String> headers) {
        WsClient client = new WsClient();
        // generous: a gateway in a JVM just started, on a loaded machine, may take seconds to answer
        // one HttpClient per WebSocket: the JDK's client corrupts text frames now and then when many
        // WebSockets share one (docs/gateway.md, "Testing with the JDK client")
        WebSocket.Builder builder = HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(30));
        headers.forEach(builder::header);
        URI uri = URI.create("ws://localhost:" + port + "/ws" + (query.isEmpty() ? "" : "?" + query));
        client.socket = builder.buildAsync(uri, client).orTimeout(60, TimeUnit.SECONDS).join();
        client.awaitFrame(f -> f.path("type").asString().equals("welcome"), Duration.ofSeconds(60));
        return client;
    }

    /** Connects and expects the handshake to be refused; returns the HTTP status. */
    static int refusedStatus(int port, String query, Map<String, String> headers) {
        WebSocket.Builder builder = HTTP.newWebSocketBuilder();
        headers.forEach(builder::header);
        try {
            builder.buildAsync(URI.create("ws://localhost:" + port + "/ws?" + query), new WsClient())
                    .orTimeout(10, TimeUnit.SECONDS).join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof java.net.http.WebSocketHandshakeException refused) {
                return refused.getResponse().statusCode();
            }
            throw e;
        }
        throw new AssertionError("the handshake was accepted");
    }

    public void send(String json) {
        WebSocket ws = socket;
        if (ws == null) {
            throw new IllegalStateException("not connected");
        }
        ws.sendText(json, true).orTimeout(5, TimeUnit.SECONDS).join();
    }

    /** Waits until a received frame matches, and returns it. */
    public JsonNode awaitFrame(Predicate<JsonNode> matching) {
        return awaitFrame(matching, Duration.ofSeconds(15));
    }

    public JsonNode awaitFrame(Predicate<JsonNode> matching, Duration timeout) {
        return await().atMost(timeout).pollInterval(Duration.ofMillis(10))
                .until(() -> frames.stream().filter(matching).findFirst().orElse(null), f -> f != null);
    }

    static Predicate<JsonNode> type(String type) {
        return f -> f.path("type").asString().equals(type);
    }

    public static Predicate<JsonNode> type(String type, String field, String value) {
        return f -> f.path("type").asString().equals(type) && f.path(field).asString().equals(value);
    }

    List<JsonNode> frames() {
        return List.copyOf(frames);
    }

    public List<JsonNode> frames(String type) {
        return frames.stream().filter(type(type)).toList();
    }

    /** Every comment of every batch received from {@code room}, in arrival order. */
    List<JsonNode> comments(String room) {
        return frames.stream().filter(type("batch", "room", room))
                .flatMap(b -> b.path("comments").valueStream()).toList();
    }

    int awaitClose() {
        await().atMost(Duration.ofSeconds(60)).until(() -> closeCode.get() >= 0);
        return closeCode.get();
    }

    /**
     * Waits up to {@code timeout} for the connection to end; if it has not, gives up on it as a
     * client whose heartbeat went unanswered would (aborts it) and returns false.
     */
    boolean awaitCloseOrAbort(Duration timeout) {
        try {
            await().atMost(timeout).until(() -> closeCode.get() >= 0);
            return true;
        } catch (ConditionTimeoutException e) {
            WebSocket ws = socket;
            if (ws != null) {
                ws.abort();
            }
            return false;
        }
    }

    /** The close code received (1006 for an error), or -1 while open. */
    int closeCode() {
        return closeCode.get();
    }

    boolean isOpen() {
        WebSocket ws = socket;
        return ws != null && !ws.isInputClosed() && closeCode.get() < 0;
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
            frames.add(JSON.readTree(partial.toString()));
            partial.setLength(0);
        }
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closeCode.set(statusCode);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closeCode.compareAndSet(-1, 1006);
    }

    @Override
    public void close() {
        WebSocket ws = socket;
        if (ws != null && !ws.isOutputClosed()) {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        }
        if (ws != null) {
            ws.abort();
        }
    }
}
