package dev.danmaku.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.util.ArrayList;
import java.util.List;

/**
 * The baseline of the fan-out benchmark: a minimal Netty WebSocket broadcaster. Connections to
 * {@code /viewer} are viewers; every text message received from any connection is written, as
 * it is, to every viewer (one frame and one flush per viewer and message, the buffer shared with
 * {@code retainedDuplicate}). A viewer whose socket buffer is full (not writable) misses the
 * message, so the server never holds an unbounded backlog. One event loop thread, epoll.
 * {@code BaselineServer <port>}; prints {@code READY}.
 */
public final class BaselineServer {

    private BaselineServer() {
    }

    public static void main(String[] args) throws InterruptedException {
        int port = Integer.parseInt(args[0]);
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<Channel> viewers = new ArrayList<>(); // touched on the one loop thread only
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(loop)
                .channel(EpollServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(8192),
                                new WebSocketServerProtocolHandler("/", null, false, 65536, false, true),
                                new Broadcaster(viewers));
                    }
                });
        Channel server = bootstrap.bind("127.0.0.1", port).sync().channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            loop.shutdownGracefully();
        }));
        System.out.println("READY " + port);
        System.out.flush();
        server.closeFuture().sync();
    }

    private static final class Broadcaster extends SimpleChannelInboundHandler<TextWebSocketFrame> {

        private final List<Channel> viewers;

        Broadcaster(List<Channel> viewers) {
            this.viewers = viewers;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof WebSocketServerProtocolHandler.HandshakeComplete complete
                    && complete.requestUri().startsWith("/viewer")) {
                viewers.add(ctx.channel());
                ctx.channel().closeFuture().addListener(f -> viewers.remove(ctx.channel()));
            }
            super.userEventTriggered(ctx, event);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, TextWebSocketFrame frame) {
            for (int i = 0, n = viewers.size(); i < n; i++) {
                Channel viewer = viewers.get(i);
                if (viewer.isWritable()) {
                    viewer.writeAndFlush(frame.retainedDuplicate(), viewer.voidPromise());
                }
            }
        }
    }
}
