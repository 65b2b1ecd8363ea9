package dev.danmaku.gateway.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** The integration tests' BlockHound check is only worth something if BlockHound is on. */
class BlockHoundIsWatchingTest {

    @Test
    void aBlockingCallOnAParallelThreadFailsAndIsRecorded() {
        int mark = BlockingCalls.count();
        StepVerifier.create(Mono.delay(Duration.ofMillis(1)).doOnNext(tick -> {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }))
                .expectError(BlockingOperationError.class)
                .verify(Duration.ofSeconds(5));
        assertThat(BlockingCalls.since(mark)).hasSize(1).first().asString().contains("Thread");
    }
}
