package dev.danmaku.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class SeqTrackerTest {

    private static String batch(long seq, String text) {
        return "{\"type\":\"batch\",\"room\":\"r\",\"seq\":" + seq + ",\"ts\":1,\"comments\":[{\"id\":\"c\","
                + "\"user\":{\"id\":\"u\",\"name\":\"n\"},\"text\":\"" + text + "\",\"mode\":\"scroll\",\"ts\":1}]}";
    }

    @Test
    void followsTheLastSeqOfBatchesAndIgnoresOtherFrames() {
        SeqTracker.Progress progress = SeqTracker.follow(-1, List.of(
                batch(3, "a"), "{\"type\":\"pong\",\"ts\":1,\"serverTs\":2}", batch(7, "b"),
                "{\"type\":\"joined\",\"room\":\"r\",\"seq\":99,\"recovered\":true}"));

        assertThat(progress).isEqualTo(new SeqTracker.Progress(7, 2, 0));
    }

    @Test
    void aBatchNotAfterTheLastOneIsCounted() {
        SeqTracker.Progress progress = SeqTracker.follow(5, List.of(batch(5, "dup"), batch(6, "x"), batch(4, "old")));

        assertThat(progress).isEqualTo(new SeqTracker.Progress(6, 3, 2));
    }

    @Test
    void aSeqInsideACommentsTextIsNotTheBatchsSeq() {
        // the text holds "seq":1 escaped, as the gateway's JSON encodes it
        String frame = "{\"type\":\"batch\",\"room\":\"r\",\"comments\":[{\"text\":\"\\\"seq\\\":1000\"}],\"seq\":12}";

        assertThat(SeqTracker.follow(10, List.of(frame)).lastSeq()).isEqualTo(12);
    }
}
