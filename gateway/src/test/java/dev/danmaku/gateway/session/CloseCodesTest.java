package dev.danmaku.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;

class CloseCodesTest {

    @Test
    void countsEachCodeUnderItsTagAndTheRestUnderOther() {
        CloseCodes codes = new CloseCodes();
        codes.record(1000);
        codes.record(1000);
        codes.record(1001);
        codes.record(1006);
        codes.record(4029);
        codes.record(3999);
        codes.recordNone();

        assertThat(codes.count("1000")).isEqualTo(2);
        assertThat(codes.count("1001")).isEqualTo(1);
        assertThat(codes.count("1006")).isEqualTo(1);
        assertThat(codes.count("4029")).isEqualTo(1);
        assertThat(codes.count("other")).isEqualTo(1);
        assertThat(codes.count("none")).isEqualTo(1);
        assertThat(codes.count("1012")).isZero();
        assertThat(CloseCodes.CODES).contains("1008", "1011", "1012", "1013", "4000", "4001");
        assertThatIllegalArgumentException().isThrownBy(() -> codes.count("1234"));
    }
}
