package dev.danmaku.gateway.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.dataformat.cbor.CBORMapper;

/**
 * A real WebSocket client (the JDK's) for the integration tests: it collects the frames it
 * receives (JSON text, or CBOR binary) and the close code. The JDK client answers PINGs itself.
 */
final class WsClient implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(15);
    private static final ObjectMapper JSON = JsonMapper.builder().build();
    private static final ObjectMapper CBOR = CBORMapper.builder().build();

    private final LinkedBlockingQueue<JsonNode> frames = new LinkedBlockingQueue<>();
    private final List<JsonNode> seen = new ArrayList<>();
    private final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
    private final WebSocket socket;
    /** Why the connection failed, when it did (close code -1). */
    private volatile Throwable error;

    private WsClient(URI uri, String subprotocol, String... headers) {
        this(HttpClient.newHttpClient(), uri, subprotocol, headers);
    }

    /** @param http this WebSocket's own client (never one shared with other WebSockets, see below) */
    private WsClient(HttpClient http, URI uri, String subprotocol, String... headers) {
        // One HttpClient per WebSocket: with many WebSockets on one HttpClient, the JDK's client (17.0.15 and
        // 25 alike) now and then delivers a text frame spliced with part of a later one, or fails with
        // "Invalid UTF-8 in frame TEXT" or "Unexpected rsv2 bit", on byte streams that the npm ws client
        // and a client per connection read whole (see docs/gateway.md, "Testing with the JDK client")
        WebSocket.Builder builder = http.newWebSocketBuilder();
        for (int i = 0; i + 1 < headers.length; i += 2) {
            builder.header(headers[i], headers[i + 1]);
        }
        this.socket = builder
                .subprotocols(subprotocol)
                .connectTimeout(WAIT)
                .buildAsync(uri, new Listener())
                .orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS)
                .join();
    }

    static WsClient connect(URI uri) {
        return new WsClient(uri, "danmaku.v1.json");
    }

    /** Connects on a client made for this one WebSocket (e.g. one trusting a test certificate). */
    static WsClient connectOwnClient(HttpClient http, URI uri) {
        return new WsClient(http, uri, "danmaku.v1.json");
    }

    /** Connects with extra handshake headers: name, value, name, value... */
    static WsClient connectWithHeaders(URI uri, String... headers) {
        return new WsClient(uri, "danmaku.v1.json", headers);
    }

    static WsClient connectCbor(URI uri) {
        return new WsClient(uri, "danmaku.v1.cbor");
    }

    String subprotocol() {
        return socket.getSubprotocol();
    }

    void send(String json) {
        socket.sendText(json, true).orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    /** Sends a text message in fragments. */
    void sendFragments(String... parts) {
        for (int i = 0; i < parts.length; i++) {
            socket.sendText(parts[i], i == parts.length - 1).orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
        }
    }

    /** The next frame matching, skipping (but keeping in {@link #seen}) the others. */
    JsonNode next(Predicate<JsonNode> wanted, String description) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            JsonNode frame;
            try {
                frame = left <= 0 ? null : frames.poll(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
            if (frame == null) {
                // how the connection ended first: a long list of frames seen gets cut off in reports
                throw new AssertionError("no " + description + " within " + WAIT
                        + (closeCode.isDone() ? "; closed " + closeCode.join() : "; still open")
                        + (error != null ? " by " + stackTrace(error) : "")
                        + "; " + seen.size() + " frames seen, the last " + seen.subList(Math.max(0, seen.size() - 3), seen.size()));
            }
            seen.add(frame);
            if (wanted.test(frame)) {
                return frame;
            }
        }
    }

    JsonNode next(String type) {
        return next(f -> f.path("type").asString().equals(type), "'" + type + "' frame");
    }

    /** The next frame, whatever it is. */
    JsonNode next() {
        return next(f -> true, "frame");
    }

    List<JsonNode> seen() {
        return seen;
    }

    /** Moves every frame received so far into {@link #seen}, without waiting; returns seen. */
    List<JsonNode> drain() {
        frames.drainTo(seen);
        return seen;
    }

    int closeCode() {
        return closeCode.orTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS).join();
    }

    boolean isClosed() {
        return closeCode.isDone();
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed()) {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye");
        }
        socket.abort();
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder text = new StringBuilder();
        private final java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            text.append(data);
            if (last) {
                try {
                    frames.add(JSON.readTree(text.toString()));
                } catch (RuntimeException e) {
                    throw new IllegalStateException("not JSON: " + text, e);
                }
                text.setLength(0);
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            byte[] bytes = new byte[data.remaining()];
            data.get(bytes);
            binary.writeBytes(bytes);
            if (last) {
                frames.add(CBOR.readTree(binary.toByteArray()));
                binary.reset();
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closeCode.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable failure) {
            error = failure;
            closeCode.complete(-1);
        }
    }

    private static String stackTrace(Throwable failure) {
        java.io.StringWriter trace = new java.io.StringWriter();
        failure.printStackTrace(new java.io.PrintWriter(trace));
        return trace.toString();
    }

    static String utf8(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
