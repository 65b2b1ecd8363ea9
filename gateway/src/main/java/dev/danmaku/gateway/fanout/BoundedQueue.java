package dev.danmaku.gateway.fanout;

import java.util.AbstractQueue;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import reactor.util.concurrent.Queues;

/**
 * A queue that refuses offers beyond a capacity, for a connection's outbound sink. Its storage is
 * linked chunks that grow with the backlog, so an idle connection costs little however large the
 * capacity. Like the queue it wraps, it supports one producer at a time (callers serialize
 * {@link #offer}) and one consumer.
 */
public final class BoundedQueue<T> extends AbstractQueue<T> {

    private final Queue<T> delegate = Queues.<T>unbounded(64).get();
    private final AtomicInteger size = new AtomicInteger();
    private final int capacity;

    public BoundedQueue(int capacity) {
        this.capacity = capacity;
    }

    public int capacity() {
        return capacity;
    }

    @Override
    public boolean offer(T item) {
        if (size.get() >= capacity) {
            return false;
        }
        delegate.offer(item);
        size.incrementAndGet();
        return true;
    }

    @Override
    public @Nullable T poll() {
        T item = delegate.poll();
        if (item != null) {
            size.decrementAndGet();
        }
        return item;
    }

    @Override
    public @Nullable T peek() {
        return delegate.peek();
    }

    @Override
    public int size() {
        return size.get();
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
