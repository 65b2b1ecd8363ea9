package dev.danmaku.protocol.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.bus.RoomState;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BusCodecTest {

    private final BusCodec codec = new BusCodec();

    @Test
    void aStateWrittenBeforeSlowModeExistedReadsWithNoSlowMode() {
        // as the aggregator wrote it before the slow_mode extension: no "slowMode" field
        String old = "{\"room\":\"r1\",\"seq\":41,\"ts\":1700000000000,\"likes\":12,"
                + "\"gifts\":{\"rose\":{\"count\":3,\"value\":3}},\"giftIds\":{\"g-1\":1700000000000}}";

        RoomState state = codec.decodeState(old.getBytes(StandardCharsets.UTF_8));

        assertThat(state.slowMode()).isZero();
        assertThat(state.seq()).isEqualTo(41);
        assertThat(state.likes()).isEqualTo(12);
        assertThat(state.gifts()).isEqualTo(Map.of("rose", new GiftTotal(3, 3)));
        assertThat(state.giftIds()).containsOnlyKeys("g-1");
    }

    @Test
    void aStateWithAFieldOfALaterVersionReads() {
        String newer = "{\"room\":\"r1\",\"seq\":1,\"ts\":1,\"likes\":0,\"slowMode\":5,\"pinned\":{\"text\":\"hi\"}}";

        assertThat(codec.decodeState(newer.getBytes(StandardCharsets.UTF_8)).slowMode()).isEqualTo(5);
    }

    @Test
    void aStateRoundTrips() {
        RoomState state = new RoomState("r1", 7, 9, 3, Map.of("rose", new GiftTotal(1, 1)), null,
                Map.of("g", 9L), null, Map.of("u", 99L), null, 0);

        assertThat(codec.decodeState(codec.encodeState(state))).isEqualTo(state);
    }
}
