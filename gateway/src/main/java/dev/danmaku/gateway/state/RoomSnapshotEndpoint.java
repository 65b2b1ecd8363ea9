package dev.danmaku.gateway.state;

import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.protocol.ErrorCode;
import dev.danmaku.protocol.ProtocolException;
import dev.danmaku.protocol.Rules;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.ServerFrame.TopEntry;
import dev.danmaku.protocol.bus.RoomState;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerRequest;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * {@code GET /api/rooms/{room}}: the room now, from the cached {@code danmaku.state}:
 * {@code room}, {@code seq} (the latest batch the state includes, or the later one this node has
 * seen; -1 when none), {@code viewers}, {@code likes}, {@code gifts}, {@code top}, {@code recent}.
 * A room without state yet answers with zeros. An invalid room id is 400 {@code bad_request}.
 *
 * <p>{@code GET /api/rooms}: the rooms with state, most viewers first, each
 * {@code {"room","viewers","likes"}}.
 *
 * <p>{@code viewers} is this gateway's own count until viewer counts are summed across gateways.
 */
public final class RoomSnapshotEndpoint {

    private final RoomStates states;
    private final RoomRegistry rooms;

    public RoomSnapshotEndpoint(RoomStates states, RoomRegistry rooms) {
        this.states = states;
        this.rooms = rooms;
    }

    public RouterFunction<ServerResponse> routes() {
        return RouterFunctions.route()
                .GET("/api/rooms/{room}", this::snapshot)
                .GET("/api/rooms", request -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON)
                        .bodyValue(list()))
                .build();
    }

    /** One room's snapshot, as served. */
    public record Snapshot(String room, long seq, int viewers, long likes, Map<String, GiftTotal> gifts,
                           List<TopEntry> top, List<BatchComment> recent) {
    }

    /** One line of the room list. */
    public record Listed(String room, int viewers, long likes) {
    }

    private Mono<ServerResponse> snapshot(ServerRequest request) {
        String room;
        try {
            room = Rules.room(request.pathVariable("room"));
        } catch (ProtocolException e) {
            return ServerResponse.badRequest().contentType(MediaType.APPLICATION_JSON)
                    .bodyValue(Map.of("code", ErrorCode.BAD_REQUEST.wire(), "message", e.getMessage()));
        }
        RoomState found = states.get(room);
        RoomState state = found == null ? RoomState.empty(room) : found;
        @Nullable Long seen = rooms.latestSeq(room);
        long seq = Math.max(state.seq(), seen == null ? -1 : seen);
        return ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).bodyValue(new Snapshot(room, seq,
                rooms.viewerCount(room), state.likes(), state.gifts(), state.top(), state.recent()));
    }

    private List<Listed> list() {
        return states.all().stream()
                .map(state -> new Listed(state.room(), rooms.viewerCount(state.room()), state.likes()))
                .sorted(Comparator.comparingInt(Listed::viewers).reversed().thenComparing(Listed::room))
                .toList();
    }
}
