package dev.danmaku.gateway.session;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.fanout.FanoutEventLoop;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.protocol.codec.FrameCodec;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;

/**
 * A {@link Connection} on a real loopback socket, without the HTTP handshake: the server side's
 * pipeline is the WebSocket codec and the connection (on a {@link FanoutEventLoop}, as in the
 * gateway), the client side a WebSocket codec and what the test reads. A {@code stalled} client
 * reads nothing, with small socket buffers, so that the connection's queue fills up. The close
 * frame the connection wrote is recorded as it leaves, whether the client reads it or not.
 */
final class TestSocket {

    private static final EventLoopGroup SERVER_LOOP =
            FanoutEventLoop.group(1, new DefaultThreadFactory("test-socket-server", true), NioIoHandler.newFactory(), 5);
    private static final EventLoopGroup CLIENT_LOOP =
            new io.netty.channel.MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("test-socket-client", true),
                    NioIoHandler.newFactory());
    /** Beyond the connection's own limit, so that its own check of a message's size is what answers. */
    private static final int WIRE_MAX = 64 * 1024;

    private final List<String> texts = new CopyOnWriteArrayList<>();
    private final AtomicInteger pings = new AtomicInteger();
    private final CompletableFuture<Integer> closeSent = new CompletableFuture<>();
    private final CompletableFuture<Integer> ended = new CompletableFuture<>();
    private final Channel server;
    private final Channel client;

    /** What makes the connection on the server's channel. */
    @FunctionalInterface
    interface Factory {
        Connection make(Channel channel, Connection.Ends ends);
    }

    private TestSocket(Factory factory, boolean stalled, @Nullable String room) throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        ServerBootstrap serverBootstrap = new ServerBootstrap().group(SERVER_LOOP).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("wsencoder", new WebSocket13FrameEncoder(false));
                        ch.pipeline().addLast("wsdecoder", new WebSocket13FrameDecoder(
                                WebSocketDecoderConfig.newBuilder().expectMaskedFrames(true)
                                        .maxFramePayloadLength(WIRE_MAX).closeOnProtocolViolation(false).build()));
                        ch.pipeline().addLast("tap", new CloseTap());
                        ch.pipeline().addLast("start", new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) throws Exception {
                                ctx.pipeline().remove(this);
                                Connection connection = factory.make(ctx.channel(), (c, code) -> ended.complete(code));
                                connection.start(room, null);
                                accepted.complete(ctx.channel());
                                super.channelActive(ctx);
                            }
                        });
                    }
                });
        if (stalled) {
            serverBootstrap.childOption(ChannelOption.SO_SNDBUF, 2048)
                    .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1024, 2048));
        }
        Channel listener = serverBootstrap.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        try {
            Bootstrap clientBootstrap = new Bootstrap().group(CLIENT_LOOP).channel(NioSocketChannel.class)
                    .option(ChannelOption.AUTO_READ, !stalled)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new WebSocket13FrameEncoder(true));
                            ch.pipeline().addLast(new WebSocket13FrameDecoder(false, true, 1 << 20));
                            ch.pipeline().addLast(new Reader());
                        }
                    });
            if (stalled) {
                clientBootstrap.option(ChannelOption.SO_RCVBUF, 2048);
            }
            client = clientBootstrap.connect(listener.localAddress()).sync().channel();
            server = accepted.get(5, TimeUnit.SECONDS);
        } finally {
            listener.close();
        }
    }

    static TestSocket open(Factory factory, boolean stalled, @Nullable String room) throws Exception {
        return new TestSocket(factory, stalled, room);
    }

    /** Makes the connection of these arguments on the server's channel. */
    static Factory connection(String id, FrameCodec codec, @Nullable Identity identity, ConnectionServices services) {
        return (channel, ends) -> new Connection(id, channel, codec, identity, services, new OutboundStats(), null, ends);
    }

    void receive(String json) {
        client.writeAndFlush(new TextWebSocketFrame(json));
    }

    void receiveBytes(byte[] bytes) {
        client.writeAndFlush(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(bytes)));
    }

    void pong() {
        client.writeAndFlush(new PongWebSocketFrame());
    }

    /** The client went away (without a close frame). */
    void hangUp() {
        client.close();
    }

    /** The client closed with this code. */
    void closeWith(int code) {
        client.writeAndFlush(new CloseWebSocketFrame(code, null));
    }

    List<String> sentTexts() {
        return List.copyOf(texts);
    }

    int pings() {
        return pings.get();
    }

    /** True while the server's side is open and has not sent a close frame. */
    boolean isOpen() {
        return server.isActive() && !closeSent.isDone();
    }

    /** The code of the close frame the connection sent, once it did. */
    int closeStatus(Duration wait) throws Exception {
        return closeSent.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The code the connection ended with, once it did. */
    int endedWith(Duration wait) throws Exception {
        return ended.get(wait.toMillis(), TimeUnit.MILLISECONDS);
    }

    void close() {
        client.close();
        server.close();
    }

    /** Records the close frame the server writes. */
    private final class CloseTap extends ChannelDuplexHandler {
        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            if (msg instanceof CloseWebSocketFrame close) {
                closeSent.complete(close.statusCode());
            }
            super.write(ctx, msg, promise);
        }
    }

    private final class Reader extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof TextWebSocketFrame text) {
                    texts.add(text.content().toString(StandardCharsets.UTF_8));
                } else if (msg instanceof PingWebSocketFrame) {
                    pings.incrementAndGet();
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }
    }
}
