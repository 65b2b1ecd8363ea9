package dev.danmaku.gateway.fanout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WriterQueueTest {

    private final EventLoopGroup group =
            FanoutEventLoop.group(1, new DefaultThreadFactory("writer-queue-test", true), NioIoHandler.newFactory(), 5);
    private final FanoutEventLoop loop = (FanoutEventLoop) group.next();

    @AfterEach
    void shutDown() throws InterruptedException {
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
    }

    /**
     * 300 writers of 0.1 ms each wait, then another task (a sender's ack) is submitted: it runs
     * after a slice of about a millisecond, not after the 30 ms that all the writers take.
     */
    @Test
    void anotherTaskRunsBetweenSlicesOfTheWriters() throws Exception {
        int writers = 300;
        AtomicInteger ran = new AtomicInteger();
        CompletableFuture<Integer> ranBeforeTheTask = new CompletableFuture<>();
        CountDownLatch queued = new CountDownLatch(1);
        loop.execute(() -> spinUntilOpen(queued)); // the writers and the task are all queued before any runs
        for (int i = 0; i < writers; i++) {
            loop.writers().add(() -> {
                busy(TimeUnit.MICROSECONDS.toNanos(100));
                ran.incrementAndGet();
            });
        }
        queued.countDown();
        loop.execute(() -> ranBeforeTheTask.complete(ran.get()));
        // one slice is ~10 writers; without slices the task would run after all 300
        assertThat(ranBeforeTheTask.get(10, TimeUnit.SECONDS)).isLessThan(writers / 2);
        awaitCount(ran, writers);
    }

    @Test
    void aFailingWriterDoesNotStopTheOthers() throws Exception {
        AtomicInteger ran = new AtomicInteger();
        loop.writers().add(ran::incrementAndGet);
        loop.writers().add(() -> {
            throw new IllegalStateException("a broken connection");
        });
        loop.writers().add(ran::incrementAndGet);
        awaitCount(ran, 2);
        loop.writers().add(ran::incrementAndGet); // and the queue still runs later writers
        awaitCount(ran, 3);
    }

    /** Writers added from other threads while the queue drains all run, none twice. */
    @Test
    void everyWriterAddedFromManyThreadsRunsOnce() throws Exception {
        int threads = 4;
        int each = 20_000;
        AtomicInteger ran = new AtomicInteger();
        Thread[] adders = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            adders[t] = new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    loop.writers().add(() -> {
                        assertThat(loop.inEventLoop()).isTrue();
                        ran.incrementAndGet();
                    });
                }
            });
            adders[t].start();
        }
        for (Thread adder : adders) {
            adder.join();
        }
        awaitCount(ran, threads * each);
        CompletableFuture<Integer> after = new CompletableFuture<>();
        loop.execute(() -> after.complete(ran.get()));
        assertThat(after.get(10, TimeUnit.SECONDS)).isEqualTo(threads * each);
    }

    private static void busy(long nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() - until < 0) {
            // a write's worth of work (BlockHound refuses onSpinWait on a loop)
        }
    }

    private static void spinUntilOpen(CountDownLatch latch) {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (latch.getCount() > 0 && System.nanoTime() - until < 0) {
            // spins: a loop must not block, even in a test
        }
    }

    private static void awaitCount(AtomicInteger count, int expected) {
        await().atMost(Duration.ofSeconds(20)).until(() -> count.get() >= expected);
        assertThat(count.get()).isEqualTo(expected);
    }
}
