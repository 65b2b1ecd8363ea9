package dev.danmaku.aggregator.pipeline;

import java.time.Duration;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs an {@link AggregationLoop} on its own thread while the Spring context runs: a new loop
 * at each {@link #start()}, stopped and joined at {@link #stop()} (at most about
 * {@code 5 s + 2 s}: a stuck thread is interrupted after 5 s). The thread is not a daemon: it
 * keeps a stand-alone JVM alive, as a web server would.
 */
public final class AggregatorLifecycle implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(AggregatorLifecycle.class);
    private static final Duration GRACE = Duration.ofSeconds(5);
    private static final Duration AFTER_INTERRUPT = Duration.ofSeconds(2);

    private final Supplier<AggregationLoop> loops;
    private final String threadName;
    private @Nullable AggregationLoop loop;
    private @Nullable Thread thread;

    /**
     * @param loops      makes the loop of each start
     * @param threadName the loop thread's name
     */
    public AggregatorLifecycle(Supplier<AggregationLoop> loops, String threadName) {
        this.loops = loops;
        this.threadName = threadName;
    }

    @Override
    public synchronized void start() {
        if (thread != null) {
            return;
        }
        AggregationLoop started = loops.get();
        Thread runner = new Thread(started::run, threadName);
        runner.setUncaughtExceptionHandler((t, e) -> log.error("The aggregation loop died", e));
        runner.start();
        loop = started;
        thread = runner;
        log.info("Aggregation loop started on thread {}", threadName);
    }

    @Override
    public synchronized void stop() {
        Thread runner = thread;
        AggregationLoop running = loop;
        if (runner == null || running == null) {
            return;
        }
        running.stop();
        try {
            runner.join(GRACE.toMillis());
            if (runner.isAlive()) {
                log.warn("The aggregation loop did not stop within {} s; interrupting it", GRACE.toSeconds());
                runner.interrupt();
                runner.join(AFTER_INTERRUPT.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (runner.isAlive()) {
            log.error("The aggregation loop thread is still alive after stop");
        }
        thread = null;
        loop = null;
    }

    @Override
    public synchronized boolean isRunning() {
        return thread != null;
    }
}
