package dev.danmaku.loadtest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalStateException;

import org.junit.jupiter.api.Test;

class GiftLedgerTest {

    private static final String CATALOGUE =
            "[{\"id\":\"heart\",\"name\":\"Heart\",\"value\":1},{\"id\":\"rocket\",\"name\":\"Rocket\",\"value\":1000}]";

    private final GiftLedger ledger = GiftLedger.fromCatalogue(CATALOGUE);

    @Test
    void anIdAcknowledgedTwiceIsCountedOnce() {
        assertThat(ledger.acknowledged("r", "g-1", "rocket", 2, "u1")).isTrue();
        assertThat(ledger.acknowledged("r", "g-1", "rocket", 2, "u1")).isFalse();
        ledger.acknowledged("r", "g-2", "heart", 3, "u2");

        assertThat(ledger.expectedGifts("r")).containsOnly(
                org.assertj.core.api.Assertions.entry("rocket", new GiftLedger.Total(2, 2000)),
                org.assertj.core.api.Assertions.entry("heart", new GiftLedger.Total(3, 3)));
        assertThat(ledger.expectedByUser("r")).containsEntry("u1", 2000L).containsEntry("u2", 3L);
        assertThat(ledger.expectedGifts("other")).isEmpty();
    }

    @Test
    void aReSendMustBeTheSameFrame() {
        ledger.acknowledged("r", "g-1", "rocket", 2, "u1");
        assertThatIllegalStateException().isThrownBy(() -> ledger.acknowledged("r", "g-1", "heart", 2, "u1"));
    }

    @Test
    void exactTotalsAndTopAgree() {
        ledger.acknowledged("r", "g-1", "rocket", 2, "u1");
        ledger.acknowledged("r", "g-2", "heart", 3, "u2");
        String snapshot = "{\"room\":\"r\",\"gifts\":{\"rocket\":{\"count\":2,\"value\":2000},"
                + "\"heart\":{\"count\":3,\"value\":3}},\"top\":[{\"user\":{\"id\":\"u1\",\"name\":\"a\"},\"value\":2000},"
                + "{\"user\":{\"id\":\"u2\",\"name\":\"b\"},\"value\":3}]}";

        assertThat(ledger.diff("r", snapshot)).isEmpty();
    }

    @Test
    void aGiftCountedTwiceOrMissingIsReported() {
        ledger.acknowledged("r", "g-1", "rocket", 2, "u1");
        String doubled = "{\"gifts\":{\"rocket\":{\"count\":4,\"value\":4000},\"heart\":{\"count\":1,\"value\":1}},"
                + "\"top\":[{\"user\":{\"id\":\"u1\"},\"value\":4001}]}";

        assertThat(ledger.diff("r", doubled))
                .contains("gifts.rocket: expected count 2 value 2000, found count 4 value 4000")
                .contains("gifts.heart: expected count 0 value 0, found count 1 value 1")
                .contains("top: u1 listed with 4001, expected 2000");
        assertThat(ledger.diff("r", "{\"gifts\":{},\"top\":[]}"))
                .contains("gifts.rocket: expected count 2 value 2000, found count 0 value 0")
                .contains("top: expected 1 entries, found 0");
    }

    @Test
    void theTopListsTheBiggestGiftersOnly() {
        for (int u = 0; u < 12; u++) {
            ledger.acknowledged("r", "g-" + u, "heart", 1 + u % 3, "u" + u);
        }
        // u0 (1 coin) listed instead of u11 (3 coins): the list is not the ten biggest
        StringBuilder top = new StringBuilder();
        for (int u = 0; u < 10; u++) {
            top.append(u == 0 ? "" : ",").append("{\"user\":{\"id\":\"u").append(u).append("\"},\"value\":")
                    .append(1 + u % 3).append('}');
        }
        String snapshot = "{\"gifts\":{\"heart\":{\"count\":23,\"value\":23}},\"top\":[" + top + "]}";

        assertThat(ledger.diff("r", snapshot)).contains("top: u11 gave 3 but is not listed above 1");
    }

    @Test
    void unconfirmedIdsMakeTheTotalsUncheckable() {
        ledger.unconfirmed("r", "g-9");
        assertThat(ledger.diff("r", "{\"gifts\":{},\"top\":[]}")).contains("never acknowledged");
        ledger.acknowledged("r", "g-9", "heart", 1, "u1");
        assertThat(ledger.diff("r", "{\"gifts\":{\"heart\":{\"count\":1,\"value\":1}},"
                + "\"top\":[{\"user\":{\"id\":\"u1\"},\"value\":1}]}")).isEmpty();
    }

    @Test
    void giftFramesCarryRoomIdGiftAndCount() {
        assertThat(GiftStormSimulation.giftFrame("giftstorm-x-0", "g-x-1-2", "rocket", 3))
                .isEqualTo("{\"type\":\"gift\",\"room\":\"giftstorm-x-0\",\"id\":\"g-x-1-2\",\"gift\":\"rocket\",\"count\":3}");
    }
}
