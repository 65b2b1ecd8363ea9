package dev.danmaku.gateway.session;

import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionUtil;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import org.jspecify.annotations.Nullable;

/**
 * Rewrites a client's {@code Sec-WebSocket-Extensions} offers before Reactor Netty's handshake so
 * that the gateway never takes its compression context over from one message to the next. RFC 7692
 * (7.1.1.1) lets a server answer {@code server_no_context_takeover} to any permessage-deflate offer;
 * Reactor Netty only does when the client asked, so each offer is made to ask. Every message the
 * gateway sends is then compressed on its own, and a room's batch can be compressed once and the
 * same bytes written to every viewer who negotiated the extension (browsers all offer it), instead
 * of being compressed again per viewer. It also keeps no compressor per connection between messages.
 *
 * <p>Only permessage-deflate offers are kept (so the obsolete per-frame deflate is never
 * negotiated); an offer asking for a smaller server window is kept as it is and declined by the
 * handshake, as the gateway compresses with the full window.
 */
final class DeflateOffers {

    static final String PERMESSAGE_DEFLATE = "permessage-deflate";
    static final String SERVER_NO_CONTEXT = "server_no_context_takeover";

    private DeflateOffers() {
    }

    /**
     * The header's new value: its permessage-deflate offers, each with {@code server_no_context_takeover};
     * null when it has none (no extension is to be negotiated).
     */
    static @Nullable String serverNoContext(List<String> headerValues) {
        StringJoiner offers = new StringJoiner(", ");
        boolean any = false;
        for (String value : headerValues) {
            for (WebSocketExtensionData offer : WebSocketExtensionUtil.extractExtensions(value)) {
                if (!PERMESSAGE_DEFLATE.equals(offer.name().toLowerCase(Locale.ROOT))) {
                    continue;
                }
                StringBuilder rewritten = new StringBuilder(PERMESSAGE_DEFLATE);
                boolean asked = false;
                for (Map.Entry<String, String> parameter : offer.parameters().entrySet()) {
                    rewritten.append("; ").append(parameter.getKey());
                    if (parameter.getValue() != null) {
                        rewritten.append('=').append(parameter.getValue());
                    }
                    asked |= SERVER_NO_CONTEXT.equalsIgnoreCase(parameter.getKey());
                }
                if (!asked) {
                    rewritten.append("; ").append(SERVER_NO_CONTEXT);
                }
                offers.add(rewritten);
                any = true;
            }
        }
        return any ? offers.toString() : null;
    }
}
