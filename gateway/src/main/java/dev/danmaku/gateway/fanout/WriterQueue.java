package dev.danmaku.gateway.fanout;

import io.netty.channel.EventLoop;
import io.netty.util.internal.PlatformDependent;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The writers of one event loop that have batches to write, drained by one task of that loop
 * in slices of about a millisecond: a fan-out to 10,000 viewers is one queue of writers, not
 * 10,000 tasks, and the loop's other tasks (a sender's {@code ack}, a join) and its socket reads
 * wait one slice for it, not the whole fan-out.
 *
 * <p>After each slice the task queues itself again behind whatever was submitted meanwhile; the
 * loop looks at its sockets every few milliseconds of tasks ({@code danmaku.io-task-quantum}).
 * A writer is in the queue at most once (its own flag), so the queue holds at most as many
 * entries as the loop has connections.
 */
public final class WriterQueue implements Runnable {

    private static final Logger log = LoggerFactory.getLogger(WriterQueue.class);
    private static final long SLICE_NANOS = TimeUnit.MICROSECONDS.toNanos(1000);
    /** Writers run between looks at the clock: a write is some microseconds. */
    private static final int CLOCK_EVERY = 8;

    private final EventLoop loop;
    private final Queue<Runnable> ready = PlatformDependent.newMpscQueue();
    private final AtomicBoolean scheduled = new AtomicBoolean();

    WriterQueue(EventLoop loop) {
        this.loop = loop;
    }

    /**
     * Queues a writer to run on the loop, from any thread; the caller makes sure it is queued at
     * most once until it ran.
     *
     * @throws java.util.concurrent.RejectedExecutionException when the loop is shutting down
     */
    void add(Runnable writer) {
        ready.offer(writer);
        if (scheduled.compareAndSet(false, true)) {
            loop.execute(this);
        }
    }

    @Override
    public void run() {
        long deadline = System.nanoTime() + SLICE_NANOS;
        int ran = 0;
        Runnable writer;
        while ((writer = ready.poll()) != null) {
            try {
                writer.run();
            } catch (RuntimeException e) {
                // one connection's failure must not stop the others' writes
                log.warn("A connection's write failed", e);
            }
            if (++ran % CLOCK_EVERY == 0 && System.nanoTime() - deadline > 0 && !ready.isEmpty()) {
                loop.execute(this); // still scheduled: the rest after the tasks queued meanwhile
                return;
            }
        }
        scheduled.set(false);
        if (!ready.isEmpty() && scheduled.compareAndSet(false, true)) {
            loop.execute(this); // added between the last poll and the flag
        }
    }
}
