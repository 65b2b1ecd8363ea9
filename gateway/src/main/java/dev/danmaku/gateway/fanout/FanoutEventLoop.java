package dev.danmaku.gateway.fanout;

import io.netty.channel.IoEventLoop;
import io.netty.channel.IoEventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SingleThreadIoEventLoop;
import io.netty.util.concurrent.RejectedExecutionHandlers;
import io.netty.util.internal.SystemPropertyUtil;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadFactory;

/**
 * The gateway's event loop: Netty's, with the {@link WriterQueue} its connections'
 * {@link ChannelWriter}s share, and a bound on how long it runs tasks before it reads its sockets.
 */
public final class FanoutEventLoop extends SingleThreadIoEventLoop {

    /** Netty's own bound of a loop's task queue (unbounded unless the property says otherwise). */
    private static final int MAX_PENDING_TASKS =
            Math.max(16, SystemPropertyUtil.getInt("io.netty.eventLoop.maxPendingTasks", Integer.MAX_VALUE));

    private final WriterQueue writers = new WriterQueue(this);

    private FanoutEventLoop(IoEventLoopGroup parent, Executor executor, IoHandlerFactory io, long taskQuantumMillis) {
        super(parent, executor, io, MAX_PENDING_TASKS, RejectedExecutionHandlers.reject(), taskQuantumMillis);
    }

    /**
     * A group of these loops.
     *
     * @param taskQuantumMillis how long a loop runs queued tasks before its next I/O pass, at
     *                          least 1 (Netty's default is a second)
     */
    public static MultiThreadIoEventLoopGroup group(int loops, ThreadFactory threads, IoHandlerFactory io,
                                                    long taskQuantumMillis) {
        if (taskQuantumMillis < 1) {
            throw new IllegalArgumentException("the task quantum must be at least 1 ms, not " + taskQuantumMillis);
        }
        return new Group(loops, threads, io, taskQuantumMillis);
    }

    private static final class Group extends MultiThreadIoEventLoopGroup {

        Group(int loops, ThreadFactory threads, IoHandlerFactory io, long taskQuantumMillis) {
            super(loops, threads, io, taskQuantumMillis);
        }

        @Override
        protected IoEventLoop newChild(Executor executor, IoHandlerFactory io, Object... args) {
            return new FanoutEventLoop(this, executor, io, (Long) args[0]);
        }
    }

    /** The writers of this loop's connections that wait to write batches. */
    WriterQueue writers() {
        return writers;
    }
}
