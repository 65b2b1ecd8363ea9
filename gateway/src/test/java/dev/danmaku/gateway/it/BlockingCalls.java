package dev.danmaku.gateway.it;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingOperationError;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Makes BlockHound (installed for the whole test run by blockhound-junit-platform, before any
 * event loop or scheduler thread exists) record every blocking call on a non-blocking thread
 * (Netty's event loops, Reactor's parallel scheduler) before failing it, so that a test can
 * assert none happened even where the error itself was swallowed. Registered through
 * {@code META-INF/services}.
 */
public final class BlockingCalls implements BlockHoundIntegration {

    private static final List<String> DETECTED = new CopyOnWriteArrayList<>();

    @Override
    public void applyTo(BlockHound.Builder builder) {
        // Cancelling a scheduled task (a connection's heartbeat interval, on close) removes it from
        // the executor's queue under that queue's lock: a short critical section with no I/O, the
        // same kind Reactor's own integration allows for offer and take. Contended under load, it
        // parks for a moment, which BlockHound would otherwise report.
        builder.allowBlockingCallsInside("java.util.concurrent.ScheduledThreadPoolExecutor$DelayedWorkQueue", "remove");
        // The ingress breaker's move from open to half-open, by the first send after wait-in-open (on
        // an event loop), takes the breaker's lock for a state change: as short, no I/O; contended
        // when two sends find the wait over at once.
        builder.allowBlockingCallsInside(
                "io.github.resilience4j.circuitbreaker.internal.CircuitBreakerStateMachine$OpenState", "toHalfOpenState");
        // Netty's default allocator (adaptive, 4.2) adds a magazine when threads contend for one, and
        // frees the one it replaces under that magazine's StampedLock: no I/O, held for a moment. Seen
        // on a Netty client loop in a resume storm (standalone GatewayCrashEndToEndTest); the gateway's
        // loops share that allocator.
        builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
        builder.blockingMethodCallback(method -> {
            StringWriter trace = new StringWriter();
            new Throwable().printStackTrace(new PrintWriter(trace));
            DETECTED.add(method + " on " + Thread.currentThread().getName() + "\n" + trace);
            throw new BlockingOperationError(method);
        });
    }

    /** How many blocking calls were detected so far in this JVM. */
    static int count() {
        return DETECTED.size();
    }

    /** The blocking calls detected since {@link #count()} was {@code mark}, with their stacks. */
    static List<String> since(int mark) {
        return List.copyOf(DETECTED.subList(mark, DETECTED.size()));
    }
}
