package dev.danmaku.standalone;

import static dev.danmaku.standalone.WsClient.type;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.gateway.GatewayApplication;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The real path through a gateway crash: 200 viewers watch a room on a gateway running in a JVM
 * of its own; senders on another gateway send 500 comments through the real aggregator; the
 * viewers' gateway is killed (SIGKILL: no drain, no close frame) in the middle of it. Every
 * viewer reconnects to a surviving gateway with {@code since} = the last seq it saw and ends with
 * all 500 comments exactly once.
 *
 * <p>It once stalled on senders that got their {@code welcome} and no answer to their comments:
 * the first comments, on several connections at once, made Jackson build the comment's
 * deserializer on the event loops, the connections waiting for its lock failed under BlockHound
 * and were closed (1011). The codecs now build their deserializers when they are made
 * (protocol's CodecWarmUpTest). Every wait here is on a condition, with a generous bound.
 */
class GatewayCrashEndToEndTest {

    private static final int VIEWERS = 200;
    private static final int COMMENTS = 500;
    /** Senders, each sending COMMENTS / SENDERS: within one connection's burst (10), so none is refused. */
    private static final int SENDERS = 50;
    private static final Duration WAIT = Duration.ofSeconds(120);

    private final Cluster cluster = Cluster.get();

    @TempDir
    Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static String comment(String room, int n) {
        return "{\"type\":\"comment\",\"room\":\"" + room + "\",\"id\":\"k-" + n + "\",\"text\":\"crash " + n + "\"}";
    }

    /**
     * Sends comments [from, to), comment n by sender n % SENDERS, and waits until each is
     * acknowledged. A send answered with an error ({@code unavailable} while the ingress is slow
     * on a loaded machine) is sent again with the same id, as a client does: counted once.
     */
    private static int sendUntilAcked(List<WsClient> senders, String room, int from, int to) {
        Map<Integer, Long> errorsSeen = new HashMap<>();
        Map<Integer, Long> sentAt = new HashMap<>();
        Set<Integer> pending = new HashSet<>();
        IntStream.range(from, to).forEach(n -> {
            pending.add(n);
            errorsSeen.put(n, 0L);
            sentAt.put(n, System.nanoTime());
            senders.get(n % SENDERS).send(comment(room, n));
        });
        int[] resent = {0};
        await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).conditionEvaluationListener(condition -> {
            if (condition.getRemainingTimeInMS() <= 200 && !pending.isEmpty()) { // about to fail: say why
                int n = pending.iterator().next();
                WsClient sender = senders.get(n % SENDERS);
                System.out.println("still waiting for " + pending.size() + " acks after " + resent[0] + " resends; "
                        + "sender of k-" + n + " (open: " + sender.isOpen() + ", close code " + sender.closeCode()
                        + ") saw " + sender.frames());
            }
        }).until(() -> {
            for (Iterator<Integer> it = pending.iterator(); it.hasNext(); ) {
                int n = it.next();
                WsClient sender = senders.get(n % SENDERS);
                String id = "k-" + n;
                if (sender.frames("ack").stream().anyMatch(f -> f.path("id").asString().equals(id))) {
                    it.remove();
                    continue;
                }
                long errors = sender.frames("error").stream().filter(f -> f.path("id").asString().equals(id)).count();
                // at most once a second per comment: well within a connection's rate limit
                if (errors > errorsSeen.get(n) && System.nanoTime() - sentAt.get(n) > 1_000_000_000L) {
                    errorsSeen.put(n, errors);
                    sentAt.put(n, System.nanoTime());
                    sender.send(comment(room, n));
                    resent[0]++;
                }
            }
            return pending.isEmpty();
        });
        return resent[0];
    }

    /** The seq of the last batch received (every viewer had one before the crash). */
    private static long lastBatchSeq(WsClient client) {
        List<JsonNode> batches = client.frames("batch");
        return batches.get(batches.size() - 1).path("seq").asLong();
    }

    private static List<Long> seqs(WsClient client) {
        return client.frames("batch").stream().map(b -> b.path("seq").asLong()).toList();
    }

    /** Runs these connects a few at a time; the clients in the same order. */
    private static List<WsClient> connectAll(ExecutorService pool, List<Supplier<WsClient>> connects) {
        List<CompletableFuture<WsClient>> futures = connects.stream()
                .map(connect -> CompletableFuture.supplyAsync(connect, pool)).toList();
        return futures.stream().map(CompletableFuture::join).toList();
    }

    @Test
    void viewersOfAKilledGatewayResumeOnAnotherWithEveryCommentExactlyOnce() throws Exception {
        String room = Cluster.room("crash");
        int childPort = freePort();
        Path log = dir.resolve("child-gateway.log");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), GatewayApplication.class.getName(),
                "--server.port=" + childPort,
                "--danmaku.kafka.bootstrap-servers=" + cluster.kafka.bootstrapServers(),
                "--danmaku.dev-mode=true",
                "--danmaku.auth.jwt-secret=" + Cluster.JWT_SECRET,
                "--danmaku.node-id=child")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        HttpClient http = HttpClient.newHttpClient();
        List<WsClient> senders = new ArrayList<>();
        List<WsClient> onChild = new ArrayList<>();
        List<WsClient> onSurvivor = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            await().atMost(WAIT).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .alias("the child gateway is ready (log: " + log + ")")
                    .until(() -> http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + childPort
                            + "/actuator/health/readiness")).build(), HttpResponse.BodyHandlers.discarding())
                            .statusCode() == 200);
            onChild.addAll(connectAll(pool, IntStream.range(0, VIEWERS).mapToObj(i -> (Supplier<WsClient>) () -> {
                WsClient viewer = WsClient.connect(childPort, "room=" + room);
                viewer.awaitFrame(type("joined", "room", room), WAIT);
                return viewer;
            }).toList()));
            List<String> tokens = IntStream.range(0, SENDERS).mapToObj(i -> cluster.viewerToken("crasher" + i)).toList();
            senders.addAll(connectAll(pool, tokens.stream().map(token -> (Supplier<WsClient>) () ->
                    WsClient.connect(cluster.portA(), "token=" + token)).toList()));

            // the room is live on the child: every viewer has had a batch
            int resent = sendUntilAcked(senders, room, 0, COMMENTS / 4);
            await().atMost(WAIT).until(() -> onChild.stream().allMatch(v -> !v.frames("batch").isEmpty()));

            // more comments; the viewers' gateway dies while their batches are on the way
            resent += sendUntilAcked(senders, room, COMMENTS / 4, COMMENTS / 2);
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            resent += sendUntilAcked(senders, room, COMMENTS / 2, COMMENTS);
            System.out.println("comments sent again after an error: " + resent);

            // each viewer notices, and resumes on gateway B from the last seq it saw
            // (the test client has no heartbeat of its own: one whose socket never reports the end is
            // given up after 20 s, as danmaku-client.js does when no pong comes)
            AtomicInteger givenUp = new AtomicInteger();
            onSurvivor.addAll(connectAll(pool, onChild.stream().map(old -> (Supplier<WsClient>) () -> {
                if (!old.awaitCloseOrAbort(Duration.ofSeconds(20))) {
                    givenUp.incrementAndGet();
                }
                long since = lastBatchSeq(old);
                WsClient resumed = WsClient.connect(cluster.portB(), "room=" + room + "&since=" + since);
                assertThat(resumed.awaitFrame(type("joined", "room", room), WAIT).path("recovered").asBoolean())
                        .as("resumed from seq %d", since).isTrue();
                return resumed;
            }).toList()));
            System.out.println("old connections given up without a close: " + givenUp.get() + " of " + VIEWERS);
            List<String> expected = IntStream.range(0, COMMENTS).mapToObj(n -> "k-" + n).sorted().toList();
            for (int i = 0; i < VIEWERS; i++) {
                WsClient old = onChild.get(i);
                WsClient resumed = onSurvivor.get(i);
                List<String> seen = new ArrayList<>();
                try {
                    await().atMost(WAIT).until(() -> old.comments(room).size() + resumed.comments(room).size() >= COMMENTS);
                } catch (ConditionTimeoutException e) {
                    throw new AssertionError("viewer " + i + ": " + old.comments(room).size() + " comments before the crash, "
                            + resumed.comments(room).size() + " after; old batches " + seqs(old) + ", resumed "
                            + resumed.frames().stream().map(f -> f.path("type").asString() + ":" + f.path("seq").asLong()
                            + ":" + f.path("recovered").asBoolean() + ":" + f.path("comments").size()
                            + ":" + f.path("dropped").asInt()).toList() + ", resumed open " + resumed.isOpen()
                            + " (close code " + resumed.closeCode() + ", error " + resumed.error() + ")", e);
                }
                old.comments(room).forEach(c -> seen.add(c.path("id").asString()));
                resumed.comments(room).forEach(c -> seen.add(c.path("id").asString()));
                assertThat(seen.stream().sorted().toList()).as("viewer %d: every comment exactly once", i)
                        .isEqualTo(expected);
                List<Long> seqs = new ArrayList<>();
                old.frames("batch").forEach(b -> seqs.add(b.path("seq").asLong()));
                resumed.frames("batch").forEach(b -> seqs.add(b.path("seq").asLong()));
                assertThat(seqs).as("viewer %d: batches in order", i).isSorted().doesNotHaveDuplicates();
            }
        } finally {
            child.destroyForcibly();
            pool.shutdownNow();
            senders.forEach(WsClient::close);
            onChild.forEach(WsClient::close);
            onSurvivor.forEach(WsClient::close);
        }
    }
}
