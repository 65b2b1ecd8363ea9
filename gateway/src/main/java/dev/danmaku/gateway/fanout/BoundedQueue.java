package dev.danmaku.gateway.fanout;

import java.util.AbstractQueue;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.jspecify.annotations.Nullable;
import reactor.util.concurrent.Queues;

/**
 * A queue that refuses offers beyond a capacity, for a connection's outbound sink. Its storage is
 * linked chunks of {@value #LINK} that grow with the backlog, so an idle connection costs little
 * however large the capacity (a viewer that keeps up has one or two frames queued at a time).
 * Like the queue it wraps, it supports one producer at a time (callers serialize {@link #offer})
 * and one consumer.
 */
public final class BoundedQueue<T> extends AbstractQueue<T> {

    /** Slots per chunk: a chunk of 64 was 276 bytes per connection, mostly empty. */
    static final int LINK = 16;
    @SuppressWarnings("rawtypes") // a class literal has no type arguments
    private static final AtomicIntegerFieldUpdater<BoundedQueue> SIZE =
            AtomicIntegerFieldUpdater.newUpdater(BoundedQueue.class, "size");

    private final Queue<T> delegate = Queues.<T>unbounded(LINK).get();
    /** An int field, not an {@code AtomicInteger}: one object less per connection. */
    private volatile int size;
    private final int capacity;

    public BoundedQueue(int capacity) {
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }

    @Override
    public boolean offer(T item) {
        if (size >= capacity) {
            return false;
        }
        delegate.offer(item);
        SIZE.incrementAndGet(this);
        return true;
    }

    @Override
    public @Nullable T poll() {
        T item = delegate.poll();
        if (item != null) {
            SIZE.decrementAndGet(this);
        }
        return item;
    }

    @Override
    public @Nullable T peek() {
        return delegate.peek();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return delegate.isEmpty();
    }

    @Override
    public Iterator<T> iterator() {
        throw new UnsupportedOperationException("not iterable");
    }
}
