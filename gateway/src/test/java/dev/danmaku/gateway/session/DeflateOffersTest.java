package dev.danmaku.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Offers are rewritten to ask for no server context takeover; other extensions are dropped. */
class DeflateOffersTest {

    @Test
    void aBrowsersOfferAsksForNoServerContextTakeover() {
        assertThat(DeflateOffers.serverNoContext(List.of("permessage-deflate; client_max_window_bits")))
                .isEqualTo("permessage-deflate; client_max_window_bits; server_no_context_takeover");
    }

    @Test
    void anOfferThatAlreadyAsksIsKeptAsItIs() {
        assertThat(DeflateOffers.serverNoContext(List.of("permessage-deflate; server_no_context_takeover; "
                + "client_no_context_takeover")))
                .isEqualTo("permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    }

    @Test
    void parameterValuesAndEveryOfferAreKeptInOrder() {
        assertThat(DeflateOffers.serverNoContext(List.of(
                "permessage-deflate; server_max_window_bits=10, permessage-deflate",
                "Permessage-Deflate; client_max_window_bits=12")))
                .isEqualTo("permessage-deflate; server_max_window_bits=10; server_no_context_takeover, "
                        + "permessage-deflate; server_no_context_takeover, "
                        + "permessage-deflate; client_max_window_bits=12; server_no_context_takeover");
    }

    @Test
    void otherExtensionsAreDroppedAndNoneLeftIsNull() {
        assertThat(DeflateOffers.serverNoContext(List.of("x-webkit-deflate-frame, permessage-deflate")))
                .isEqualTo("permessage-deflate; server_no_context_takeover");
        assertThat(DeflateOffers.serverNoContext(List.of("x-webkit-deflate-frame"))).isNull();
        assertThat(DeflateOffers.serverNoContext(List.of())).isNull();
    }
}
