package dev.danmaku.gateway.http;

import dev.danmaku.gateway.fanout.Outbound;
import dev.danmaku.gateway.fanout.OutboundStats;
import dev.danmaku.gateway.fanout.Outbox;
import dev.danmaku.gateway.fanout.SharedBatch;
import dev.danmaku.gateway.metrics.GatewayMetrics;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.gateway.room.RoomViewer;
import dev.danmaku.gateway.session.ConnectionSettings;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.ServerFrame;
import dev.danmaku.protocol.codec.FrameCodec;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.http.codec.ServerSentEvent;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;

/**
 * {@code GET /sse/rooms/{room}}: a room's batches as Server-Sent Events, for clients without a
 * WebSocket. First {@code event: joined} (the {@code joined} frame), then each batch as
 * {@code event: batch} with {@code id:} its seq. {@code Last-Event-ID} (sent by browsers when
 * they reconnect; or the {@code since} query) resumes from the room's ring, as {@code since}
 * does on the WebSocket. A comment line every heartbeat interval keeps proxies from closing an
 * idle stream. The stream has the WebSocket's outbound policy (an {@link Outbox}): a client that
 * reads too slowly skips comment batches, and is ended when it lags too long (it reconnects
 * with its {@code Last-Event-ID}).
 */
public final class SseEndpoint {

    private final RoomRegistry rooms;
    private final FrameCodec json;
    private final ConnectionSettings settings;
    private final OutboundStats stats;
    private final GatewayMetrics metrics;

    public SseEndpoint(RoomRegistry rooms, FrameCodec json, ConnectionSettings settings, OutboundStats stats,
                       GatewayMetrics metrics) {
        this.rooms = rooms;
        this.json = json;
        this.settings = settings;
        this.stats = stats;
        this.metrics = metrics;
    }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route().GET("/sse/rooms/{room}", this::stream).build();
    }

    private Mono<ServerResponse> stream(ServerRequest request) {
        String room = request.pathVariable("room");
        Long since;
        try {
            Rules.room(room);
            since = since(request.headers().firstHeader("Last-Event-ID"), request.queryParam("since").orElse(null));
        } catch (ProtocolException e) {
            return ServerResponse.badRequest().contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(Map.of("code", e.code().wire(), "message", String.valueOf(e.getMessage())));
        }
        Viewer viewer = new Viewer();
        Flux<ServerSentEvent<String>> joining = rooms.join(room, since, viewer)
                .then(Mono.<ServerSentEvent<String>>empty())
                .onErrorResume(e -> Mono.just(ServerSentEvent.<String>builder()
                        .event("error")
                        .data("{\"type\":\"error\",\"code\":\"" + ErrorCode.UNAVAILABLE.wire() + "\"}")
                        .build()))
                .flux();
        Flux<ServerSentEvent<String>> events = viewer.outbox.flux().map(item -> event(item, viewer.written));
        Flux<ServerSentEvent<String>> keepAlive = Flux.interval(settings.heartbeatInterval())
                .map(tick -> ServerSentEvent.<String>builder().comment("keep-alive").build());
        Flux<ServerSentEvent<String>> body = Flux.merge(joining, events, keepAlive)
                .takeUntilOther(viewer.ended.asMono())
                .doFinally(signal -> rooms.leave(room, viewer));
        return ServerResponse.ok().contentType(MediaType.TEXT_EVENT_STREAM)
                .body(body, ServerSentEvent.class);
    }

    private ServerSentEvent<String> event(Outbound item, GatewayMetrics.Writer written) {
        if (item instanceof SharedBatch batch) {
            byte[] bytes = batch.bytes(json);
            written.written(item, bytes.length);
            return ServerSentEvent.<String>builder().id(Long.toString(batch.seq())).event("batch")
                    .data(new String(bytes, StandardCharsets.UTF_8)).build();
        }
        ServerFrame frame = ((Outbound.Frame) item).frame();
        byte[] bytes = json.encode(frame);
        written.written(item, bytes.length);
        ServerSentEvent.Builder<String> event = ServerSentEvent.<String>builder()
                .data(new String(bytes, StandardCharsets.UTF_8));
        if (frame instanceof ServerFrame.Batch batch) { // a batch with a per-viewer dropped count
            event.id(Long.toString(batch.seq())).event("batch");
        } else if (frame instanceof ServerFrame.Joined) {
            event.event("joined");
        }
        return event.build();
    }

    private static @Nullable Long since(@Nullable String lastEventId, @Nullable String query) {
        String value = lastEventId != null && !lastEventId.isBlank() ? lastEventId : query;
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            long since = Long.parseLong(value.trim());
            if (since < -1) {
                throw ProtocolException.badRequest("Last-Event-ID must be a seq (>= -1)");
            }
            return since;
        } catch (NumberFormatException e) {
            throw ProtocolException.badRequest("Last-Event-ID must be a seq (>= -1)");
        }
    }

    /** One SSE client as a room sees it: an outbox, and an end when it lags too long. */
    private final class Viewer implements RoomViewer {
        private final Outbox outbox = new Outbox(settings.queueCapacity(), settings.queueHeadroom(), System::nanoTime,
                stats);
        private final Sinks.One<Boolean> ended = Sinks.one();
        private final GatewayMetrics.Writer written = metrics.writer(GatewayMetrics.SSE);

        @Override
        public boolean deliver(Outbound item) {
            Outbox.Result result = outbox.offer(item);
            if (result == Outbox.Result.OVERFLOW
                    || outbox.lagging(System.nanoTime()) > settings.maxLag().toNanos()) {
                // the caller may hold the room's lock: end the stream from another thread
                Schedulers.parallel().schedule(() -> ended.tryEmitValue(true));
                return result != Outbox.Result.OVERFLOW;
            }
            return true;
        }
    }
}
