package dev.danmaku.gateway.http;

import dev.danmaku.gateway.gift.GiftCatalogue;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/** {@code GET /api/gifts}: the gift catalogue as a JSON array of {@code {"id","name","value"}}. */
public final class GiftsEndpoint {

    private final GiftCatalogue gifts;

    public GiftsEndpoint(GiftCatalogue gifts) {
        this.gifts = gifts;
    }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route()
                .GET("/api/gifts", request -> ServerResponse.ok()
                        .contentType(MediaType.APPLICATION_JSON)
                        .bodyValue(gifts.all()))
                .build();
    }
}
