package dev.danmaku.standalone;

import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakeException;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshaker;
import io.netty.handler.codec.http.websocketx.WebSocketClientHandshakerFactory;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrameAggregator;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.awaitility.core.ConditionTimeoutException;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A viewer for the tests, on Netty's WebSocket client codecs (not our code): it records every
 * frame it receives and how the connection closed. Like the JDK's client it was before, it offers
 * no extension and no subprotocol, sends no {@code Origin} unless told to, and answers PINGs.
 *
 * <p>Not the JDK's {@code java.net.http.WebSocket}: under a resume storm (200 viewers each
 * taking a replay at once) it now and then handed over a text message whose JSON broke exactly at
 * one of its read boundaries, or failed the connection with a bare {@code ProtocolException}
 * (docs/gateway.md, "Testing with the JDK client").
 */
public final class WsClient implements AutoCloseable {

    public static final JsonMapper JSON = JsonMapper.builder().build();
    /** Far more than any message the gateway sends: a test never fails on the client's limit. */
    private static final int MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
    /**
     * Shared by every client of the test JVM, as a browser's network thread is by its tabs. Plain
     * threads, not Netty's: BlockHound watches Netty's event loops, and this is the test's client,
     * not the gateway (Jackson builds its tree deserializer under a lock on first use).
     */
    private static final EventLoopGroup LOOPS = new MultiThreadIoEventLoopGroup(2, task -> {
        Thread thread = new Thread(task, "ws-test-client");
        thread.setDaemon(true);
        return thread;
    }, NioIoHandler.newFactory());

    private final List<JsonNode> frames = new CopyOnWriteArrayList<>();
    private final AtomicInteger closeCode = new AtomicInteger(-1);
    private final CompletableFuture<Void> opened = new CompletableFuture<>();
    private volatile @Nullable Channel channel;
    private volatile @Nullable Throwable error;

    private WsClient() {
    }

    public static WsClient connect(int port, String query) {
        return connect(port, query, Map.of());
    }

    static WsClient connect(int port, String query, Map<String, String> headers) {
        WsClient client = open(port, query, headers);
        try {
            // generous: a gateway in a JVM just started, on a loaded machine, may take seconds to answer
            client.opened.orTimeout(60, TimeUnit.SECONDS).join();
        } catch (CompletionException e) {
            client.abort();
            throw e;
        }
        client.awaitFrame(f -> f.path("type").asString().equals("welcome"), Duration.ofSeconds(60));
        return client;
    }

    /** Connects and expects the handshake to be refused; returns the HTTP status. */
    static int refusedStatus(int port, String query, Map<String, String> headers) {
        WsClient client = open(port, query, headers);
        try {
            client.opened.orTimeout(10, TimeUnit.SECONDS).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof WebSocketClientHandshakeException refused && refused.response() != null) {
                return refused.response().status().code();
            }
            throw e;
        } finally {
            client.abort();
        }
        throw new AssertionError("the handshake was accepted");
    }

    private static WsClient open(int port, String query, Map<String, String> headers) {
        WsClient client = new WsClient();
        URI uri = URI.create("ws://localhost:" + port + "/ws" + (query.isEmpty() ? "" : "?" + query));
        HttpHeaders extra = new DefaultHttpHeaders();
        headers.forEach(extra::add);
        // no Origin of its own (the JDK client sends none): a test that wants one says so
        WebSocketClientHandshaker handshaker = WebSocketClientHandshakerFactory.newHandshaker(uri,
                WebSocketVersion.V13, null, false, extra, MAX_MESSAGE_BYTES, true, false, -1, false, false);
        WebSocketClientProtocolConfig config = WebSocketClientProtocolConfig.newBuilder()
                .handleCloseFrames(false) // the close code is ours to record
                .dropPongFrames(true)
                .handshakeTimeoutMillis(60_000)
                .build();
        new Bootstrap().group(LOOPS).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 30_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        client.channel = ch;
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(64 * 1024),
                                new WebSocketClientProtocolHandler(handshaker, config),
                                new WebSocketFrameAggregator(MAX_MESSAGE_BYTES), client.new Receiver());
                    }
                })
                .connect(uri.getHost(), port).addListener(done -> {
                    if (!done.isSuccess()) {
                        client.opened.completeExceptionally(done.cause());
                    }
                });
        return client;
    }

    /** The client's end of the pipeline, on its event loop. */
    private final class Receiver extends SimpleChannelInboundHandler<WebSocketFrame> {

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                opened.complete(null);
            }
            super.userEventTriggered(ctx, event);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof TextWebSocketFrame text) {
                String json = text.content().toString(StandardCharsets.UTF_8);
                try {
                    frames.add(JSON.readTree(json));
                } catch (RuntimeException e) {
                    fail(ctx, new IllegalStateException("not JSON: " + json, e));
                }
            } else if (frame instanceof CloseWebSocketFrame close) {
                int code = close.statusCode();
                closeCode.compareAndSet(-1, code < 0 ? 1005 : code);
                if (ctx.channel().isActive()) { // echo it, then hang up, as a client does
                    ctx.writeAndFlush(new CloseWebSocketFrame(code < 0 ? 1000 : code, null))
                            .addListener(done -> ctx.close());
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(ctx, cause);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            closeCode.compareAndSet(-1, 1006); // no close frame came
            opened.completeExceptionally(new IllegalStateException("closed before the handshake completed"));
            super.channelInactive(ctx);
        }

        private void fail(ChannelHandlerContext ctx, Throwable cause) {
            if (error == null) {
                error = cause;
            }
            opened.completeExceptionally(cause);
            closeCode.compareAndSet(-1, 1006);
            ctx.close();
        }
    }

    public void send(String json) {
        Channel ch = channel;
        if (ch == null || !handshaken()) {
            throw new IllegalStateException("not connected");
        }
        if (!ch.writeAndFlush(new TextWebSocketFrame(json)).awaitUninterruptibly(5, TimeUnit.SECONDS)) {
            throw new AssertionError("a send was not written within 5 s");
        }
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
     * client whose heartbeat went unanswered would (drops the socket) and returns false.
     */
    boolean awaitCloseOrAbort(Duration timeout) {
        try {
            await().atMost(timeout).until(() -> closeCode.get() >= 0);
            return true;
        } catch (ConditionTimeoutException e) {
            abort();
            return false;
        }
    }

    /** The close code received (1005 for a close frame without one, 1006 for none), or -1 while open. */
    int closeCode() {
        return closeCode.get();
    }

    /** Why the connection failed (the close code is 1006 then), with its causes, or null. */
    @Nullable String error() {
        StringBuilder why = new StringBuilder();
        for (Throwable e = error; e != null; e = e.getCause()) {
            why.append(why.isEmpty() ? "" : ", caused by ").append(e);
        }
        return why.isEmpty() ? null : why.toString();
    }

    boolean isOpen() {
        Channel ch = channel;
        return ch != null && ch.isActive() && handshaken() && closeCode.get() < 0;
    }

    private boolean handshaken() {
        return opened.isDone() && !opened.isCompletedExceptionally();
    }

    /** Drops the socket without a close frame. */
    private void abort() {
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
    }

    @Override
    public void close() {
        Channel ch = channel;
        if (isOpen()) {
            ch.writeAndFlush(new CloseWebSocketFrame(1000, "bye")).addListener(done -> ch.close());
        } else {
            abort();
        }
    }
}
