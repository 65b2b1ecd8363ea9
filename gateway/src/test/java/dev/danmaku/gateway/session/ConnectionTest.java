package dev.danmaku.gateway.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.auth.Identity;
import dev.danmaku.gateway.config.GatewayProperties;
import dev.danmaku.gateway.fanout.Codecs;
import dev.danmaku.gateway.gift.GiftCatalogue;
import dev.danmaku.gateway.ingress.IngressPublisher;
import dev.danmaku.gateway.ingress.IngressUnavailableException;
import dev.danmaku.gateway.room.RoomFeed;
import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.CloseCode;
import dev.danmaku.protocol.Limits;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.codec.BusCodec;
import dev.danmaku.protocol.codec.CborFrameCodec;
import dev.danmaku.protocol.codec.JsonFrameCodec;
import io.github.bucket4j.TimeMeter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class ConnectionTest {

    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final Instant NOW = Instant.parse("2025-01-01T00:00:00Z");
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Limits limits = new Limits(4096, 100, 3, 5, 10);
    private final Codecs codecs = new Codecs(List.of(new JsonFrameCodec(limits), new CborFrameCodec(limits)));
    private final List<Ingress> published = new CopyOnWriteArrayList<>();
    private Function<Ingress, Mono<Void>> broker = ingress -> Mono.empty();
    private final IngressPublisher publisher = ingress -> {
        published.add(ingress);
        return broker.apply(ingress);
    };
    /** A feed whose rooms have no batches and are ready at once (on another thread, as a real feed). */
    private final RoomFeed emptyFeed = (room, listener) -> Schedulers.single().schedule(() -> {
        listener.onStart(0);
        listener.onReady(0);
    });
    private final RoomRegistry rooms = new RoomRegistry(emptyFeed, new BusCodec(), codecs,
            Clock.fixed(NOW, ZoneOffset.UTC), new RoomRegistry.Settings(100, Duration.ofMinutes(2),
            Duration.ofSeconds(5), 1000));
    private long meterNanos;
    private final TimeMeter time = new TimeMeter() {
        @Override
        public long currentTimeNanos() {
            return meterNanos;
        }

        @Override
        public boolean isWallClockBased() {
            return false;
        }
    };
    private final List<Disposable> running = new CopyOnWriteArrayList<>();
    private final List<TestSocket> sockets = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        running.forEach(Disposable::dispose);
        sockets.forEach(TestSocket::close);
    }

    private ConnectionSettings settings(Duration interval, Duration timeout, int queue) {
        return new ConnectionSettings("n1", limits, 20, 40, interval, timeout, queue, 32);
    }

    private TestSocket connect(@Nullable Identity identity) throws Exception {
        return connect(identity, settings(Duration.ofSeconds(25), Duration.ofSeconds(60), 4096), false, null);
    }

    private TestSocket connect(@Nullable Identity identity, ConnectionSettings settings, boolean stalled,
                                @Nullable String room) throws Exception {
        GiftCatalogue gifts = new GiftCatalogue(GatewayProperties.DEFAULT_GIFTS);
        ConnectionServices services = new ConnectionServices(rooms, publisher, gifts, settings,
                Clock.fixed(NOW, ZoneOffset.UTC), time);
        TestSocket session = TestSocket.open(TestSocket.connection("n1-1", codecs.defaultCodec(), identity, services),
                stalled, room);
        sockets.add(session);
        return session;
    }

    private static Identity identity(String id, Role role, Set<String> rooms) {
        return new Identity(new User(id, id.toUpperCase(), role), rooms, NOW.plusSeconds(3600));
    }

    private static List<JsonNode> frames(TestSocket session) {
        return session.sentTexts().stream().map(JSON::readTree).toList();
    }

    private static JsonNode awaitFrame(TestSocket session, String type, int index) {
        await().atMost(WAIT).until(() -> frames(session).stream().filter(f -> f.path("type").asString().equals(type))
                .count() > index);
        return frames(session).stream().filter(f -> f.path("type").asString().equals(type)).toList().get(index);
    }

    private static JsonNode awaitFrame(TestSocket session, String type) {
        return awaitFrame(session, type, 0);
    }

    private static String comment(String id, String text) {
        return "{\"type\":\"comment\",\"room\":\"r1\",\"id\":\"" + id + "\",\"text\":\"" + text + "\"}";
    }

    @Test
    void welcomeIsTheFirstFrame() throws Exception {
        TestSocket session = connect(null);
        JsonNode welcome = awaitFrame(session, "welcome");
        assertThat(frames(session).get(0)).isEqualTo(welcome);
        assertThat(welcome.path("conn").asString()).isEqualTo("n1-1");
        assertThat(welcome.path("user").path("id").asString()).isEqualTo("anon-n1-1");
        assertThat(welcome.path("heartbeat").path("interval").asLong()).isEqualTo(25_000);
        assertThat(welcome.path("heartbeat").path("timeout").asLong()).isEqualTo(60_000);
        assertThat(welcome.path("limits").path("maxTextLength").asInt()).isEqualTo(100);
    }

    @Test
    void badFramesAreAnsweredWithAnErrorAndTheConnectionStaysOpen() throws Exception {
        TestSocket session = connect(null);
        session.receive("not json");
        session.receive("{\"type\":\"dance\"}");
        session.receive("{\"type\":\"join\",\"room\":\"bad room!\"}");
        session.receive("{\"type\":\"ping\",\"ts\":42}");

        assertThat(awaitFrame(session, "error", 0).path("code").asString()).isEqualTo("bad_request");
        assertThat(awaitFrame(session, "error", 1).path("code").asString()).isEqualTo("bad_request");
        assertThat(awaitFrame(session, "error", 2).path("code").asString()).isEqualTo("bad_request");
        JsonNode pong = awaitFrame(session, "pong");
        assertThat(pong.path("ts").asLong()).isEqualTo(42);
        assertThat(pong.path("serverTs").asLong()).isEqualTo(NOW.toEpochMilli());
        assertThat(session.isOpen()).isTrue();
    }

    @Test
    void anErrorAboutASendCarriesItsId() throws Exception {
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        session.receive(comment("c-1", "x".repeat(101)));
        JsonNode error = awaitFrame(session, "error");
        assertThat(error.path("code").asString()).isEqualTo("too_long");
        assertThat(error.path("id").asString()).isEqualTo("c-1");
    }

    @Test
    void anonymousViewersMayJoinButNotSend() throws Exception {
        TestSocket session = connect(null);
        session.receive("{\"type\":\"join\",\"room\":\"r1\"}");
        assertThat(awaitFrame(session, "joined").path("seq").asLong()).isEqualTo(-1);

        session.receive(comment("c-1", "hi"));
        JsonNode error = awaitFrame(session, "error");
        assertThat(error.path("code").asString()).isEqualTo("unauthorized");
        assertThat(error.path("id").asString()).isEqualTo("c-1");
        assertThat(published).isEmpty();
    }

    @Test
    void aCommentIsAckedOnlyOnceTheBrokerAcknowledgedIt() throws Exception {
        Sinks.Empty<Void> acknowledged = Sinks.empty();
        broker = ingress -> acknowledged.asMono();
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        session.receive(comment("c-1", "  hello  "));

        await().atMost(WAIT).until(() -> published.size() == 1);
        Ingress ingress = published.get(0);
        assertThat(ingress.node()).isEqualTo("n1");
        assertThat(ingress.conn()).isEqualTo("n1-1");
        assertThat(ingress.user().id()).isEqualTo("u1");
        assertThat(ingress.room()).isEqualTo("r1");
        assertThat(((ClientFrame.Comment) ingress.frame()).text()).isEqualTo("hello");
        assertThat(frames(session)).noneMatch(f -> f.path("type").asString().equals("ack"));

        acknowledged.tryEmitEmpty();
        assertThat(awaitFrame(session, "ack").path("id").asString()).isEqualTo("c-1");
    }

    @Test
    void aSendTheBrokerDidNotStoreIsAnsweredUnavailable() throws Exception {
        broker = ingress -> Mono.error(new IngressUnavailableException("down", new RuntimeException()));
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        session.receive(comment("c-1", "hi"));
        JsonNode error = awaitFrame(session, "error");
        assertThat(error.path("code").asString()).isEqualTo("unavailable");
        assertThat(error.path("id").asString()).isEqualTo("c-1");
    }

    @Test
    void commentsBeyondTheBurstAreRateLimitedWithRetryAfter() throws Exception {
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        for (int i = 0; i < 11; i++) {
            session.receive(comment("c-" + i, "hi"));
        }
        JsonNode error = awaitFrame(session, "error");
        assertThat(error.path("code").asString()).isEqualTo("rate_limited");
        assertThat(error.path("id").asString()).isEqualTo("c-10");
        assertThat(error.path("retryAfterMs").asLong()).isBetween(1L, 200L);
        await().atMost(WAIT).until(() -> frames(session).stream()
                .filter(f -> f.path("type").asString().equals("ack")).count() == 10);

        meterNanos += Duration.ofMillis(200).toNanos(); // one more token at 5 a second
        session.receive(comment("c-11", "hi"));
        assertThat(awaitFrame(session, "ack", 10).path("id").asString()).isEqualTo("c-11");
    }

    @Test
    void aGiftNotInTheCatalogueIsRefused() throws Exception {
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        session.receive("{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g-1\",\"gift\":\"yacht\",\"count\":1}");
        session.receive("{\"type\":\"gift\",\"room\":\"r1\",\"id\":\"g-2\",\"gift\":\"rocket\",\"count\":2}");
        JsonNode error = awaitFrame(session, "error");
        assertThat(error.path("code").asString()).isEqualTo("unknown_gift");
        assertThat(error.path("id").asString()).isEqualTo("g-1");
        assertThat(awaitFrame(session, "ack").path("id").asString()).isEqualTo("g-2");
        assertThat(published).hasSize(1);
    }

    @Test
    void likesArePublishedWithoutAnAck() throws Exception {
        TestSocket session = connect(identity("u1", Role.VIEWER, Set.of()));
        session.receive("{\"type\":\"like\",\"room\":\"r1\",\"count\":3}");
        session.receive("{\"type\":\"ping\"}");
        awaitFrame(session, "pong");
        await().atMost(WAIT).until(() -> published.size() == 1);
        assertThat(((ClientFrame.Like) published.get(0).frame()).count()).isEqualTo(3);
        assertThat(frames(session)).noneMatch(f -> f.path("type").asString().equals("ack"));
    }

    @Test
    void onlyTheRoomsModeratorsAndAdminsMayMute() throws Exception {
        String mute = "{\"type\":\"mute\",\"room\":\"r1\",\"user\":\"u42\",\"seconds\":600}";
        TestSocket viewer = connect(identity("v1", Role.VIEWER, Set.of("r1")));
        viewer.receive(mute);
        assertThat(awaitFrame(viewer, "error").path("code").asString()).isEqualTo("forbidden");

        TestSocket otherRoom = connect(identity("m2", Role.MODERATOR, Set.of("r2")));
        otherRoom.receive(mute);
        assertThat(awaitFrame(otherRoom, "error").path("code").asString()).isEqualTo("forbidden");
        assertThat(published).isEmpty();

        connect(identity("m1", Role.MODERATOR, Set.of("r1"))).receive(mute);
        connect(identity("s1", Role.STREAMER, Set.of("r1"))).receive(mute);
        connect(identity("a1", Role.ADMIN, Set.of())).receive(mute);
        await().atMost(WAIT).until(() -> published.size() == 3);
    }

    @Test
    void anExpiredTokenMayNoLongerSend() throws Exception {
        Identity expired = new Identity(new User("u1", "U1", Role.VIEWER), Set.of(), NOW.minusSeconds(1));
        TestSocket session = connect(expired);
        session.receive(comment("c-1", "hi"));
        assertThat(awaitFrame(session, "error").path("code").asString()).isEqualTo("unauthorized");
    }

    @Test
    void joiningMoreRoomsThanTheLimitIsRefused() throws Exception {
        TestSocket session = connect(null);
        for (String room : List.of("a", "b", "c", "d")) {
            session.receive("{\"type\":\"join\",\"room\":\"" + room + "\"}");
        }
        assertThat(awaitFrame(session, "error").path("code").asString()).isEqualTo("too_many_rooms");
        awaitFrame(session, "joined", 2);
        assertThat(rooms.roomCount()).isEqualTo(3);

        session.receive("{\"type\":\"leave\",\"room\":\"a\"}");
        assertThat(awaitFrame(session, "left").path("room").asString()).isEqualTo("a");
        session.receive("{\"type\":\"join\",\"room\":\"d\"}");
        assertThat(awaitFrame(session, "joined", 3).path("room").asString()).isEqualTo("d");
    }

    @Test
    void theRoomQueryJoinsRightAfterWelcome() throws Exception {
        TestSocket session = connect(null, settings(Duration.ofSeconds(25), Duration.ofSeconds(60), 4096), false, "r9");
        JsonNode joined = awaitFrame(session, "joined");
        assertThat(joined.path("room").asString()).isEqualTo("r9");
        assertThat(frames(session).get(0).path("type").asString()).isEqualTo("welcome");
    }

    @Test
    void aClosedConnectionLeavesItsRooms() throws Exception {
        TestSocket session = connect(null);
        session.receive("{\"type\":\"join\",\"room\":\"r1\"}");
        awaitFrame(session, "joined");
        assertThat(rooms.viewerCount("r1")).isOne();

        session.hangUp();
        await().atMost(WAIT).until(() -> rooms.roomCount() == 0);
        assertThat(session.endedWith(WAIT)).isEqualTo(Connection.ABNORMAL); // no close frame either way
    }

    @Test
    void aPeersCloseFrameIsAnsweredWithItsCodeAndEndsTheConnection() throws Exception {
        TestSocket session = connect(null);
        session.receive("{\"type\":\"join\",\"room\":\"r1\"}");
        awaitFrame(session, "joined");

        session.closeWith(1001);
        assertThat(session.closeStatus(WAIT)).isEqualTo(1001);
        assertThat(session.endedWith(WAIT)).isEqualTo(1001);
        await().atMost(WAIT).until(() -> rooms.roomCount() == 0);
    }

    @Test
    void aSlowReaderIsClosedWith1013AfterQueueOverflow() throws Exception {
        TestSocket session = connect(null, settings(Duration.ofSeconds(25), Duration.ofSeconds(60), 64), true, null);
        for (int i = 0; i < 3000; i++) { // the pongs fill the socket's buffers, then the queue
            session.receive("{\"type\":\"ping\"}");
        }
        assertThat(session.closeStatus(WAIT)).isEqualTo(CloseCode.TRY_AGAIN_LATER.code());
        // the peer never takes the close frame: the socket is dropped after the grace period
        assertThat(session.endedWith(WAIT)).isEqualTo(CloseCode.TRY_AGAIN_LATER.code());
    }

    @Test
    void aSilentPeerIsPingedThenClosedWith4000() throws Exception {
        TestSocket session = connect(null, settings(Duration.ofMillis(50), Duration.ofMillis(300), 4096), false, null);
        assertThat(session.closeStatus(WAIT)).isEqualTo(CloseCode.HEARTBEAT_TIMEOUT.code());
        assertThat(session.pings()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void aPeerThatAnswersStaysConnected() throws Exception {
        TestSocket session = connect(null, settings(Duration.ofMillis(50), Duration.ofMillis(300), 4096), false, null);
        Disposable pongs = Flux.interval(Duration.ofMillis(50))
                .subscribe(tick -> session.pong());
        running.add(pongs);
        await().during(Duration.ofMillis(800)).atMost(WAIT).until(session::isOpen);
        assertThat(session.pings()).isGreaterThanOrEqualTo(5);
    }

    @Test
    void anInflatedFrameOverTheLimitClosesWith1009() throws Exception {
        TestSocket session = connect(null);
        session.receiveBytes(new byte[5000]);
        assertThat(session.closeStatus(WAIT)).isEqualTo(CloseCode.MESSAGE_TOO_BIG.code());
    }
}
