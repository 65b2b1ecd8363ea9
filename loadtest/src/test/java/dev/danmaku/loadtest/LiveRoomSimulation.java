package dev.danmaku.loadtest;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import io.gatling.javaapi.http.WsFrameCheck;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A live room under load: many watch-only viewers and a few senders per room, against any
 * gateway (see {@link LoadSettings} for the {@code -D} knobs). Request names in the report:
 *
 * <ul>
 *   <li>Viewers connect anonymously to {@code /ws?room=<room>} ({@code viewer connect}: the
 *       handshake), wait for {@code joined} ({@code viewer joined}), stay connected for the
 *       duration, then close ({@code viewer close}). They send nothing: Gatling answers the
 *       server's WebSocket PINGs by itself.</li>
 *   <li>Senders get a dev token ({@code dev token}), connect with {@code ?token=…&room=…}
 *       ({@code sender connect}, {@code sender joined}), then send one {@code comment} every
 *       {@code 1/rate} seconds ({@code comment send}, about 0 ms: the write only). Each send awaits
 *       its own comment inside a {@code batch} ({@code comment echo}): that response time runs from
 *       the send until the sender sees its comment broadcast, i.e. gateway → ingress → aggregator
 *       window → room topic → gateway → client. Acks, pongs and batches without that comment are
 *       skipped by the check; a comment not seen within {@code -Dtimeout} (an error frame, a drop
 *       by the room's density limit) counts as failed. A send waits for its echo before the next
 *       one, so a sender whose echoes take longer than {@code 1/rate} sends less often.</li>
 * </ul>
 *
 * <p>Comment ids are {@code <sender>-<n>} where the sender part carries a per-run tag, so that a
 * rerun against the same rooms is not refused by the aggregator's duplicate-id suppression.
 *
 * <p>Assertions: under 1% failed requests, and the 99th percentile of {@code comment echo} (each
 * sender's end-to-end latency) under {@code -Dp99} ms (default 2000). The global percentiles are
 * not asserted: they mix in the sends (about 0 ms) and the connects' handshakes. A failed
 * assertion fails the Maven build (Gatling's {@code failOnError}).
 */
public class LiveRoomSimulation extends Simulation {

    /** The request whose response time is send → own comment seen in a batch. */
    static final String ECHO = "comment echo";

    private final LoadSettings settings = LoadSettings.fromSystemProperties();

    /** Distinguishes this run's comment ids from earlier runs' in the same rooms. */
    private final String runTag = Long.toString(System.currentTimeMillis(), 36);

    // Per-scenario counters: spread each population evenly over the rooms and name the bots 1..N.
    private final AtomicLong viewerCount = new AtomicLong();
    private final AtomicLong senderCount = new AtomicLong();

    /** The target of {@link LoadSettings}, with {@code -DlocalAddresses} (see {@link Target}). */
    private final HttpProtocolBuilder protocol =
            new Target(settings.target(), Target.fromSystemProperties().localAddresses()).protocol();

    /**
     * Matches the first {@code batch} whose comments carry this iteration's comment id; every
     * other text frame is skipped. The filter is built per session because it embeds the id
     * (ids are {@code [A-Za-z0-9_-]}, so they need no quoting).
     */
    private final WsFrameCheck.Text echo = ws.checkTextMessage(ECHO)
            .matching(jsonPath(session -> "$.comments[?(@.id == '" + session.getString("cid") + "')].id")
                    .exists())
            .check(jsonPath("$.type").is("batch"));

    private final ScenarioBuilder viewers = scenario("viewers")
            .exec(session -> session.set("room", settings.room(viewerCount.getAndIncrement())))
            .exec(ws("viewer connect").connect("/ws?room=#{room}")
                    .await(settings.timeout()).on(joined("viewer joined")))
            .exitHereIfFailed()
            .pause(settings.duration())
            .exec(ws("viewer close").close());

    private final ScenarioBuilder senders = scenario("senders")
            .exec(session -> {
                long n = senderCount.incrementAndGet();
                return session
                        .set("room", settings.room(n - 1))
                        .set("bot", "bot-" + n)
                        .set("sender", runTag + "-bot-" + n);
            })
            .exec(http("dev token")
                    .post("/api/dev/tokens")
                    .body(StringBody("{\"name\":\"#{bot}\",\"role\":\"viewer\",\"rooms\":[]}"))
                    .check(status().is(200), jsonPath("$.token").saveAs("token")))
            .exitHereIfFailed()
            .exec(ws("sender connect").connect("/ws?token=#{token}&room=#{room}")
                    .await(settings.timeout()).on(joined("sender joined")))
            .exitHereIfFailed()
            // exitASAP=false: an iteration (send + await echo) always finishes, never cut in half.
            .during(settings.duration(), "i", false).on(
                    pace(settings.sendInterval()),
                    exec(session -> session.set(
                            "cid", session.getString("sender") + "-" + (session.getInt("i") + 1))),
                    exec(ws("comment send")
                            .sendText(session -> commentFrame(
                                    session.getString("room"), session.getString("cid")))
                            .await(settings.timeout()).on(echo)))
            .exec(ws("sender close").close());

    {
        List<PopulationBuilder> populations = new ArrayList<>();
        if (settings.viewers() > 0) {
            populations.add(viewers.injectOpen(rampUsers(settings.viewers()).during(settings.ramp())));
        }
        if (settings.senders() > 0) {
            populations.add(senders.injectOpen(rampUsers(settings.senders()).during(settings.ramp())));
        }
        setUp(populations)
                .protocols(protocol)
                .maxDuration(settings.maxDuration())
                .assertions(
                        global().failedRequests().percent().lt(1.0),
                        // The end-to-end latency alone: global percentiles mix in the sends (about
                        // 0 ms: the write only) and the connects' handshakes (set-up, not delivery).
                        details(ECHO).responseTime().percentile(99.0).lt(settings.p99()));
    }

    /**
     * Matches the {@code joined} frame of the room the connection asked for ({@code welcome} and
     * anything else before it are skipped); none within {@code -Dtimeout} fails the connection.
     */
    private static WsFrameCheck.Text joined(String name) {
        return ws.checkTextMessage(name)
                .matching(jsonPath("$.type").is("joined"))
                .check(jsonPath("$.room").isEL("#{room}"));
    }

    /** A {@code comment} frame; the text is plain ASCII so it needs no JSON escaping. */
    static String commentFrame(String room, String id) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"" + id
                + "\",\"text\":\"load test " + id + "\",\"mode\":\"scroll\"}";
    }
}
