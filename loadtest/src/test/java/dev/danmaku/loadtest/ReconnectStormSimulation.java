package dev.danmaku.loadtest;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.http.action.ws.WsInboundMessage;
import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.WsFrameCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A reconnect storm: thousands of viewers join a room, stay a while, are all dropped at the same
 * moment (each closes its socket at one shared instant: {@code -Dramp} + {@code -Dstay} after the
 * start, or, when joining takes longer, 1.5 s after the last viewer joined) and reconnect at once with
 * {@code ?since=<the last seq they saw>}. A few senders keep comments flowing throughout, so there
 * are batches to miss and to replay. See {@link ReconnectStormSettings} for the {@code -D} knobs.
 * Request names in the report:
 *
 * <ul>
 *   <li>{@code viewer connect} / {@code viewer joined}: the first join; its {@code seq} starts the
 *       viewer's position. While connected, the viewer reads the batches it was sent (Gatling's
 *       unmatched-message buffer) and keeps the last {@code seq}.</li>
 *   <li>Group {@code storm}, per viewer from the drop until it is back: {@code drop} (the close),
 *       {@code reconnect} (the handshake with {@code since}) and {@code rejoined} (until its
 *       {@code joined}), which fails when {@code recovered} is not {@code true}: the report's errors
 *       count those. The group's time (the sum of the three; there are no pauses in it) is how long
 *       the storm took for that viewer; its maximum is how long the storm took to settle.</li>
 *   <li>{@code sender connect}, {@code comment ack}: the senders (not dropped).</li>
 * </ul>
 *
 * <p>After rejoining, every viewer reads the replayed and live batches for {@code -Dafter} seconds and
 * checks that their {@code seq}s only grow (no duplicate, nothing out of order). The console summary
 * at the end gives the counts and the settle time measured from the shared drop instant.
 *
 * <p>Assertions: every viewer joined; at least {@code -Drecovered}% of the rejoins had
 * {@code recovered: true}; the storm's maximum per viewer under {@code -Dsettle} ms. A failed
 * assertion fails the Maven build.
 */
public class ReconnectStormSimulation extends Simulation {

    static final String STORM = "storm";
    static final String REJOINED = "rejoined";
    /** How often a connected viewer reads its buffered frames. */
    private static final Duration READ_EVERY = Duration.ofSeconds(1);

    private final ReconnectStormSettings settings = ReconnectStormSettings.fromSystemProperties();
    private final String runTag = Target.runTag();
    private final StormStats stats = new StormStats(settings.viewers());
    private final AtomicLong viewerCount = new AtomicLong();
    private final AtomicLong senderCount = new AtomicLong();

    private final ScenarioBuilder viewers = scenario("viewers")
            .exec(session -> session.set("room", settings.room(runTag, viewerCount.getAndIncrement())))
            .exec(ws("viewer connect").connect("/ws?room=#{room}")
                    .await(settings.timeout()).on(ws.checkTextMessage("viewer joined")
                            .matching(jsonPath("$.type").is("joined"))
                            .check(jsonPath("$.room").isEL("#{room}"), jsonPath("$.seq").ofLong().saveAs("lastSeq"))))
            .exec(session -> {
                if (session.isFailed()) {
                    stats.joinFailed(System.currentTimeMillis());
                } else {
                    stats.joined(System.currentTimeMillis());
                }
                return session;
            })
            .exitHereIfFailed()
            // stay, reading what arrives, until the shared drop instant (fixed once all have joined)
            .asLongAs(session -> stats.untilDrop(System.currentTimeMillis()) > 0).on(
                    pause(session -> untilDropOrRead()),
                    read())
            .exec(read())
            .exec(session -> {
                stats.dropped(System.currentTimeMillis());
                return session.remove("recovered");
            })
            .group(STORM).on(
                    exec(ws("drop").close()),
                    exec(ws("reconnect").connect("/ws?room=#{room}&since=#{lastSeq}")
                            .await(settings.timeout()).on(rejoined())))
            .exec(session -> {
                Boolean recovered = session.contains("recovered") ? session.getBoolean("recovered") : null;
                stats.rejoined(recovered, System.currentTimeMillis());
                // not recovered: the viewer continues from live, after the joined seq
                return Boolean.FALSE.equals(recovered) ? session.set("lastSeq", session.getLong("joinedSeq")) : session;
            })
            .repeat(session -> (int) Math.max(1, settings.after().toMillis() / READ_EVERY.toMillis())).on(
                    pause(READ_EVERY), read())
            .exec(ws("viewer close").close());

    private final ScenarioBuilder senders = scenario("senders")
            .exec(session -> {
                long n = senderCount.getAndIncrement();
                return session.set("room", settings.room(runTag, n)).set("bot", "storm-bot-" + n)
                        .set("sender", runTag + "-s" + n);
            })
            .exec(http("dev token")
                    .post("/api/dev/tokens")
                    .body(StringBody("{\"name\":\"#{bot}\",\"role\":\"viewer\",\"rooms\":[]}"))
                    .check(status().is(200), jsonPath("$.token").saveAs("token")))
            .exitHereIfFailed()
            .exec(ws("sender connect").connect("/ws?token=#{token}&room=#{room}")
                    .await(settings.timeout()).on(ws.checkTextMessage("sender joined")
                            .matching(jsonPath("$.type").is("joined"))
                            .check(jsonPath("$.room").isEL("#{room}"))))
            .exitHereIfFailed()
            .during(settings.sendingTime(), "i").on(
                    pace(settings.sendInterval()),
                    exec(session -> session.set("cid", session.getString("sender") + "-" + session.getInt("i"))),
                    exec(ws("comment send")
                            .sendText(session -> LiveRoomSimulation.commentFrame(session.getString("room"),
                                    session.getString("cid")))
                            .await(settings.timeout()).on(ws.checkTextMessage("comment ack")
                                    .matching(jsonPath("$.id").isEL("#{cid}"))
                                    .check(jsonPath("$.type").is("ack")))))
            .exec(ws("sender close").close());

    {
        List<PopulationBuilder> populations = new ArrayList<>();
        populations.add(viewers.injectOpen(rampUsers(settings.viewers()).during(settings.ramp())));
        if (settings.senders() > 0) {
            populations.add(senders.injectOpen(rampUsers(settings.senders()).during(Duration.ofSeconds(1))));
        }
        setUp(populations)
                .protocols(settings.target().protocol()
                        // keeps what arrives between two reads of a viewer (batches, pongs)
                        .wsUnmatchedInboundMessageBufferSize(1000))
                .maxDuration(settings.maxDuration())
                .assertions(
                        details("viewer joined").successfulRequests().count().is((long) settings.viewers()),
                        details(STORM, REJOINED).successfulRequests().percent().gte(settings.recovered()),
                        details(STORM).responseTime().max().lt(settings.settle()));
    }

    @Override
    public void before() {
        stats.plannedDropAt(System.currentTimeMillis() + settings.dropDelay().toMillis());
        System.out.printf("ReconnectStorm: %d viewers and %d senders (%.1f comments/s each) in %d room(s) %s-%s-*;"
                        + " all viewers dropped at once, %d s after the start or once all have joined%n", settings.viewers(), settings.senders(),
                settings.rate(), settings.rooms(), settings.roomPrefix(), runTag, settings.dropDelay().toSeconds());
    }

    @Override
    public void after() {
        System.out.println(stats.summary());
    }

    /** The {@code joined} of a reconnect; fails unless {@code recovered} is true (saved either way). */
    private static WsFrameCheck.Text rejoined() {
        return ws.checkTextMessage(REJOINED)
                .matching(jsonPath("$.type").is("joined"))
                .check(jsonPath("$.room").isEL("#{room}"),
                        jsonPath("$.seq").ofLong().saveAs("joinedSeq"),
                        jsonPath("$.recovered").ofBoolean().saveAs("recovered"),
                        jsonPath("$.recovered").ofBoolean().is(true));
    }

    /** Reads the frames that arrived since the last read: follows {@code lastSeq}. */
    private ChainBuilder read() {
        return exec(ws.processUnmatchedMessages((messages, session) -> follow(messages, session)));
    }

    private Session follow(List<WsInboundMessage> messages, Session session) {
        List<String> frames = new ArrayList<>(messages.size());
        for (WsInboundMessage message : messages) {
            if (message instanceof WsInboundMessage.Text text) {
                frames.add(text.message());
            }
        }
        SeqTracker.Progress progress = SeqTracker.follow(session.getLong("lastSeq"), frames);
        stats.followed(progress);
        return session.set("lastSeq", progress.lastSeq());
    }

    /** The next pause of a waiting viewer: until the drop, or until its next read if that is sooner. */
    private Duration untilDropOrRead() {
        long until = stats.untilDrop(System.currentTimeMillis());
        return until < READ_EVERY.toMillis() ? Duration.ofMillis(until) : READ_EVERY;
    }
}
