package dev.danmaku.loadtest;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.asLongAs;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.bodyString;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.core.CoreDsl.doIf;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.pace;
import static io.gatling.javaapi.core.CoreDsl.pause;
import static io.gatling.javaapi.core.CoreDsl.rampUsers;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;
import static io.gatling.javaapi.http.HttpDsl.ws;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.WsFrameCheck;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A gift storm: many signed-in users send gifts with ids into fresh rooms, re-sending some ids as a
 * client retrying after a lost {@code ack} would, and at the end the rooms' totals must be exactly
 * what was sent, each acknowledged id counted once (see {@link GiftStormSettings} for the
 * {@code -D} knobs). Request names in the report:
 *
 * <ul>
 *   <li>{@code dev token}, {@code gifter connect} / {@code gifter joined}: each user signs in and
 *       joins its room.</li>
 *   <li>{@code gift send} / {@code gift resend}: one gift frame each; {@code gift ack} is the time
 *       until the gateway acknowledged it (the broker stored it). A send without {@code ack}
 *       (an {@code error}, or none within {@code -Dtimeout}) is retried with the same id after 500 ms, up to
 *       {@code -Dtries} times in all: ids make that safe. The report's errors count the
 *       {@code error} answers by code.</li>
 *   <li>{@code room totals (poll)}: once every user is done, {@code GET /api/rooms/{room}} until the
 *       totals agree with the ledger of acknowledged ids, for at most {@code -Dsettle}; then
 *       {@code room totals}, whose check fails on any difference (the report's errors list it:
 *       gift by gift, and the {@code top} list's entries).</li>
 * </ul>
 *
 * <p>Each gift id's gift and count follow from the user and the id's index, so a re-send is the
 * same frame again. Assertions: every room's {@code room totals} succeeded (the totals are exact,
 * and every gift id was acknowledged in the end: one never acknowledged could have been stored or
 * not, so no exact comparison is possible), and every user joined. Errors answered to single tries
 * ({@code gift ack} failures) do not fail the run: retrying them is what a client must do. A failed
 * assertion fails the Maven build.
 */
public class GiftStormSimulation extends Simulation {

    static final String TOTALS = "room totals";
    private static final Duration RETRY_PAUSE = Duration.ofMillis(500);

    private final GiftStormSettings settings = GiftStormSettings.fromSystemProperties();
    private final String runTag = Target.runTag();
    private final List<String> rooms = settings.roomsOf(runTag);
    private final GiftLedger ledger = GiftLedger.fromCatalogue(fetch(settings.target(), "/api/gifts"));
    private final List<String> giftIds = ledger.giftIds();
    private final AtomicLong userCount = new AtomicLong();

    /** The last difference seen per room, for the summary. */
    private final Map<String, String> diffs = new ConcurrentHashMap<>();

    /**
     * The answer to this connection's gift {@code #{gid}}: an {@code ack}. An {@code error} fails the
     * check with its code ({@code ack} has none), so the report counts the errors by code.
     */
    private final WsFrameCheck.Text ack = ws.checkTextMessage("gift ack")
            .matching(jsonPath("$.id").isEL("#{gid}"))
            .check(jsonPath("$.code").withDefault("none").is("none"));

    private final ScenarioBuilder gifters = scenario("gifters")
            .exec(session -> {
                long n = userCount.getAndIncrement();
                return session.set("n", n).set("room", rooms.get((int) (n % rooms.size())))
                        .set("bot", "gifter-" + n);
            })
            .exec(http("dev token")
                    .post("/api/dev/tokens")
                    .body(StringBody("{\"name\":\"#{bot}\",\"role\":\"viewer\",\"rooms\":[]}"))
                    .check(status().is(200), jsonPath("$.token").saveAs("token"), jsonPath("$.user.id").saveAs("user")))
            .exitHereIfFailed()
            .exec(ws("gifter connect").connect("/ws?token=#{token}&room=#{room}")
                    .await(settings.timeout()).on(ws.checkTextMessage("gifter joined")
                            .matching(jsonPath("$.type").is("joined"))
                            .check(jsonPath("$.room").isEL("#{room}"))))
            .exitHereIfFailed()
            .repeat(settings.gifts(), "j").on(
                    pace(settings.sendInterval()),
                    exec(session -> pick(session, session.getInt("j"))),
                    send("gift send", false),
                    doIf(session -> ThreadLocalRandom.current().nextDouble() < settings.resend()).then(
                            exec(session -> pick(session,
                                    ThreadLocalRandom.current().nextInt(session.getInt("j") + 1))),
                            send("gift resend", true)))
            .exec(ws("gifter close").close());

    private final ScenarioBuilder totals = scenario("totals")
            .foreach(rooms, "room").on(
                    exec(session -> session.remove("body")
                            .set("deadline", System.nanoTime() + settings.settle().toNanos())
                            .set("diff", "not read yet")),
                    asLongAs(session -> !session.getString("diff").isEmpty()
                            && System.nanoTime() < session.getLong("deadline")).on(
                            exec(http(TOTALS + " (poll)").get("/api/rooms/#{room}")
                                    .check(status().is(200), bodyString().saveAs("body"))),
                            exec(session -> session.set("diff", session.contains("body")
                                    ? diff(session.getString("room"), session.getString("body"))
                                    : "no answer")),
                            doIf(session -> !session.getString("diff").isEmpty()).then(pause(Duration.ofMillis(500)))),
                    exec(http(TOTALS).get("/api/rooms/#{room}")
                            .check(status().is(200), bodyString()
                                    .transformWithSession((body, session) -> diff(session.getString("room"), body))
                                    .is(""))));

    {
        setUp(gifters.injectOpen(rampUsers(settings.users()).during(settings.ramp()))
                .andThen(totals.injectOpen(atOnceUsers(1))))
                .protocols(settings.target().protocol())
                .maxDuration(settings.maxDuration())
                .assertions(
                        details(TOTALS).successfulRequests().count().is((long) rooms.size()),
                        details(TOTALS).failedRequests().count().is(0L),
                        details("gifter joined").successfulRequests().count().is((long) settings.users()));
    }

    @Override
    public void before() {
        System.out.printf("GiftStorm: %d users into %s, %d gift ids each at %.1f/s, re-send probability %.2f%n",
                settings.users(), rooms, settings.gifts(), settings.rate(), settings.resend());
    }

    @Override
    public void after() {
        for (String room : rooms) {
            System.out.println("GiftStorm " + ledger.summary(room));
            String diff = diffs.getOrDefault(room, "never read");
            System.out.println("GiftStorm " + room + ": " + (diff.isEmpty() ? "totals exact" : "totals differ: " + diff));
        }
    }

    private String diff(String room, String body) {
        String diff;
        try {
            diff = ledger.diff(room, body);
        } catch (RuntimeException e) {
            diff = "cannot compare: " + e;
        }
        diffs.put(room, diff);
        return diff;
    }

    /**
     * Sends gift {@code #{gid}} until it is acknowledged (three tries at most), then records it in
     * the ledger, or records it as unconfirmed. The session goes on either way.
     */
    private ChainBuilder send(String name, boolean resend) {
        return exec(session -> {
                    ledger.sent(session.getString("room"), resend);
                    return session;
                })
                .tryMax(settings.tries(), "try").on(
                        // a retry waits a little: the likely error is unavailable (the broker was slow)
                        doIf(session -> session.getInt("try") > 0).then(pause(RETRY_PAUSE)),
                        exec(ws(name).sendText(GiftStormSimulation::giftFrame).await(settings.timeout()).on(ack)))
                .exec(session -> {
                    String room = session.getString("room");
                    if (session.isFailed()) {
                        ledger.unconfirmed(room, session.getString("gid"));
                    } else {
                        ledger.acknowledged(room, session.getString("gid"), session.getString("gift"),
                                session.getInt("count"), session.getString("user"));
                    }
                    return session.markAsSucceeded();
                });
    }

    /** Sets {@code gid}, {@code gift} and {@code count} for the user's {@code index}-th gift id. */
    private Session pick(Session session, int index) {
        long n = session.getLong("n");
        return session
                .set("gid", "g-" + runTag + "-" + n + "-" + index)
                .set("gift", giftIds.get((int) ((n + index) % giftIds.size())))
                .set("count", 1 + (int) ((n + index) % 3));
    }

    private static String giftFrame(Session session) {
        return giftFrame(session.getString("room"), session.getString("gid"), session.getString("gift"),
                session.getInt("count"));
    }

    /** A {@code gift} frame; room, id and gift ids are {@code [A-Za-z0-9_-]}, so they need no escaping. */
    static String giftFrame(String room, String id, String gift, int count) {
        return "{\"type\":\"gift\",\"room\":\"" + room + "\",\"id\":\"" + id + "\",\"gift\":\"" + gift
                + "\",\"count\":" + count + "}";
    }

    /** A GET against the target before the run (the gift catalogue), failing the run when it fails. */
    static String fetch(Target target, String path) {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(target.httpBaseUrl() + path)).timeout(Duration.ofSeconds(10))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("GET " + path + " answered " + response.statusCode());
            }
            return response.body();
        } catch (IOException e) {
            throw new IllegalStateException("GET " + target.httpBaseUrl() + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
