package dev.danmaku.gateway.config;

import dev.danmaku.gateway.fanout.FanoutEventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.netty.resources.LoopResources;

/**
 * The gateway's event loops: epoll where it is available (NIO otherwise), and a loop that runs
 * its queued tasks for at most {@code taskQuantum} before it looks at its sockets again.
 *
 * <p>Netty 4.2's loops run tasks for up to a second (at least 100 ms, whatever
 * {@code io.netty.eventLoop.maxTaskProcessingQuantumMs} says) before the next I/O pass. A batch
 * fanned out to 10,000 viewers was 10,000 tasks, about 200 ms of one core: for all that time no
 * comment a sender wrote was read, so it reached the broker and its window late, and the
 * aggregator's windows followed the fan-out's rhythm instead of its own (5-6 a second instead of
 * 10; docs/performance.md, 2026-12-07). With a quantum of a few milliseconds the loop reads its
 * senders between slices of a fan-out. Each loop is a {@link FanoutEventLoop}: its connections'
 * batch writes are one queue, drained in slices, not a task each.
 *
 * <p>Server, accept and client loops are the same group, as with {@link LoopResources#create(String,
 * int, boolean)}.
 */
final class GatewayLoopResources implements LoopResources {

    private final String prefix;
    private final int loops;
    private final long quantumMillis;
    private final AtomicReference<@Nullable EventLoopGroup> nativeLoops = new AtomicReference<>();
    private final AtomicReference<@Nullable EventLoopGroup> nioLoops = new AtomicReference<>();
    private volatile boolean disposed;

    /**
     * @param prefix      the threads' name prefix
     * @param loops       how many event loops
     * @param taskQuantum how long a loop runs queued tasks before its next I/O pass (at least 1 ms)
     */
    GatewayLoopResources(String prefix, int loops, Duration taskQuantum) {
        if (loops < 1) {
            throw new IllegalArgumentException("at least one event loop, not " + loops);
        }
        if (taskQuantum.toMillis() < 1) {
            throw new IllegalArgumentException("the task quantum must be at least 1 ms, not " + taskQuantum);
        }
        this.prefix = prefix;
        this.loops = loops;
        this.quantumMillis = taskQuantum.toMillis();
    }

    @Override
    public EventLoopGroup onServer(boolean useNative) {
        if (disposed) {
            throw new IllegalStateException("the event loops of " + prefix + " are disposed");
        }
        boolean epoll = useNative && Epoll.isAvailable();
        AtomicReference<@Nullable EventLoopGroup> ref = epoll ? nativeLoops : nioLoops;
        EventLoopGroup group = ref.get();
        if (group != null) {
            return group;
        }
        EventLoopGroup created = FanoutEventLoop.group(loops,
                new DefaultThreadFactory(prefix + (epoll ? "-epoll" : "-nio"), true),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory(), quantumMillis);
        if (ref.compareAndSet(null, created)) {
            return created;
        }
        created.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        return ref.get();
    }

    @Override
    public boolean daemon() {
        return true;
    }

    @Override
    public boolean isDisposed() {
        return disposed;
    }

    @Override
    public Mono<Void> disposeLater(Duration quietPeriod, Duration timeout) {
        return Mono.defer(() -> {
            disposed = true;
            Mono<Void> done = Mono.empty();
            for (AtomicReference<@Nullable EventLoopGroup> ref : List.of(nativeLoops, nioLoops)) {
                EventLoopGroup group = ref.getAndSet(null);
                if (group != null) {
                    Future<?> terminated = group.shutdownGracefully(quietPeriod.toMillis(), timeout.toMillis(),
                            TimeUnit.MILLISECONDS);
                    done = done.and(Mono.create(sink -> terminated.addListener(f -> sink.success())));
                }
            }
            return done;
        });
    }

    @Override
    public String toString() {
        return "GatewayLoopResources{" + prefix + ", loops=" + loops + ", taskQuantum=" + quantumMillis + "ms}";
    }
}
