package dev.danmaku.gateway.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class GatewayLoopResourcesTest {

    private static final int TASKS = 600;

    /**
     * 600 tasks of 1 ms each are queued on the loop, then a client writes a byte: the loop reads
     * it a slice later, not after the last task. Netty's default loop (a quantum of a second)
     * reads it only when all 600 have run (checked: with a quantum of 1000 ms this test fails).
     */
    @Test
    void readsItsSocketsBetweenSlicesOfQueuedTasks() throws Exception {
        GatewayLoopResources resources = new GatewayLoopResources("quantum-test", 1, Duration.ofMillis(5));
        EventLoopGroup group = resources.onServer(true);
        AtomicInteger tasksRun = new AtomicInteger();
        CompletableFuture<EventLoop> accepted = new CompletableFuture<>();
        CompletableFuture<Integer> tasksRunAtRead = new CompletableFuture<>();
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                    .childHandler(new ChannelInboundHandlerAdapter() {
                        @Override
                        public void channelActive(ChannelHandlerContext ctx) {
                            accepted.complete(ctx.channel().eventLoop());
                        }

                        @Override
                        public void channelRead(ChannelHandlerContext ctx, Object msg) {
                            ReferenceCountUtil.release(msg);
                            tasksRunAtRead.complete(tasksRun.get());
                        }
                    })
                    .bind("127.0.0.1", 0).sync().channel();
            try (Socket client = new Socket()) {
                client.connect(server.localAddress());
                EventLoop loop = accepted.get(10, TimeUnit.SECONDS);
                for (int i = 0; i < TASKS; i++) {
                    loop.execute(() -> {
                        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
                        while (System.nanoTime() - until < 0) {
                            // busy: a slice of a fan-out (BlockHound refuses onSpinWait on a loop)
                        }
                        tasksRun.incrementAndGet();
                    });
                }
                while (tasksRun.get() == 0) { // the loop is in its tasks before the byte is sent
                    Thread.onSpinWait();
                }
                OutputStream out = client.getOutputStream();
                out.write(1);
                out.flush();
                // 64 with a 5 ms quantum (Netty looks at the clock every 64 tasks); 600 with Netty's default
                assertThat(tasksRunAtRead.get(30, TimeUnit.SECONDS)).isLessThan(TASKS);
            } finally {
                server.close().sync();
            }
        } finally {
            resources.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));
        }
        assertThat(group.isTerminated()).isTrue();
        assertThat(resources.isDisposed()).isTrue();
    }

    @Test
    void makesTheLoopsAskedForOnce() {
        GatewayLoopResources resources = new GatewayLoopResources("quantum-test", 2, Duration.ofMillis(5));
        try {
            EventLoopGroup group = resources.onServer(true);
            assertThat(group.iterator()).toIterable().hasSize(2);
            assertThat(resources.onServer(true)).isSameAs(group);
            assertThat(resources.onServerSelect(true)).isSameAs(group);
            assertThat(resources.onClient(true)).isSameAs(group);
            assertThat(resources.onChannelClass(io.netty.channel.socket.ServerSocketChannel.class, group))
                    .isEqualTo(Epoll.isAvailable() ? EpollServerSocketChannel.class : NioServerSocketChannel.class);
        } finally {
            resources.disposeLater(Duration.ZERO, Duration.ofSeconds(5)).block(Duration.ofSeconds(10));
        }
        assertThatThrownBy(() -> resources.onServer(true)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void refusesAQuantumUnderAMillisecondAndNoLoops() {
        assertThatThrownBy(() -> new GatewayLoopResources("x", 1, Duration.ofNanos(500_000)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("quantum");
        assertThatThrownBy(() -> new GatewayLoopResources("x", 0, Duration.ofMillis(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("event loop");
    }
}
