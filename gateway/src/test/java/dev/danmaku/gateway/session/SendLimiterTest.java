package dev.danmaku.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.Limits;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SendLimiterTest {

    private long nanos;
    private final TimeMeter time = new TimeMeter() {
        @Override
        public long currentTimeNanos() {
            return nanos;
        }

        @Override
        public boolean isWallClockBased() {
            return false;
        }
    };
    private final SendLimiter limiter = new SendLimiter(new ConnectionSettings("n1", new Limits(4096, 100, 10, 5, 10),
            20, 40, Duration.ofSeconds(25), Duration.ofSeconds(60), 4096, 32), time);

    @Test
    void aBurstOfTenCommentsPassesThenTheEleventhWaitsForTheNextToken() {
        for (int i = 0; i < 10; i++) {
            assertThat(limiter.tryComment()).as("comment %d", i).isZero();
        }
        assertThat(limiter.tryComment()).isEqualTo(200); // 5 a second: one token every 200 ms
        nanos += Duration.ofMillis(150).toNanos();
        assertThat(limiter.tryComment()).isEqualTo(50);
        nanos += Duration.ofMillis(50).toNanos();
        assertThat(limiter.tryComment()).isZero();
    }

    @Test
    void theSustainedRateIsFiveCommentsASecond() {
        for (int i = 0; i < 10; i++) {
            limiter.tryComment();
        }
        nanos += Duration.ofSeconds(1).toNanos();
        int passed = 0;
        while (limiter.tryComment() == 0) {
            passed++;
        }
        assertThat(passed).isEqualTo(5);
    }

    @Test
    void otherSendsHaveTheirOwnLooserBucket() {
        for (int i = 0; i < 10; i++) {
            limiter.tryComment();
        }
        assertThat(limiter.tryComment()).isPositive();
        for (int i = 0; i < 40; i++) {
            assertThat(limiter.trySend()).isZero();
        }
        assertThat(limiter.trySend()).isEqualTo(50); // 20 a second
    }
}
