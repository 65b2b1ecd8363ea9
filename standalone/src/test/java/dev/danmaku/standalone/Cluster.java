package dev.danmaku.standalone;

import dev.danmaku.kafka.local.LocalKafka;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import reactor.blockhound.BlockHound;
import reactor.blockhound.BlockingOperationError;

/**
 * The system under test, started once per test JVM: one real Kafka broker, one aggregator and
 * two gateways (A and B), wired exactly as the one-machine launcher wires them. Tests keep out
 * of each other's way by using rooms of their own ({@link #room}).
 */
public final class Cluster {

    /** The aggregator's room-idle here: a room without messages and viewers this long loses its topic. */
    static final java.time.Duration ROOM_IDLE = java.time.Duration.ofSeconds(10);
    static final String JWT_SECRET = "test-secret-test-secret-test-secret-0123456789";
    private static final AtomicInteger ROOMS = new AtomicInteger();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static Cluster instance;

    public final LocalKafka kafka;
    public final ConfigurableApplicationContext aggregator;
    public final ConfigurableApplicationContext gatewayA;
    public final ConfigurableApplicationContext gatewayB;

    private Cluster() {
        // as in the gateway's tests (BlockingCalls): removing a cancelled timer from its executor's
        // queue takes that queue's lock for a moment, which Reactor itself allows for offer/take.
        // A blocking call's stack goes to the test's output before it fails: where it fails, the
        // error may only close a connection (1011), which says nothing of where it came from.
        // The ingress breaker's move from open to half-open (the first send after wait-in-open, on an
        // event loop) is such a section too, under the breaker's own lock.
        BlockHound.install(builder -> builder.allowBlockingCallsInside(
                "java.util.concurrent.ScheduledThreadPoolExecutor$DelayedWorkQueue", "remove")
                .allowBlockingCallsInside(
                        "io.github.resilience4j.circuitbreaker.internal.CircuitBreakerStateMachine$OpenState",
                        "toHalfOpenState")
                // Netty's adaptive allocator frees a magazine it replaces under that magazine's
                // StampedLock (gateway BlockingCalls says more)
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup",
                        "tryExpandMagazines")
                .blockingMethodCallback(method -> {
                    new Throwable("Blocking call " + method + " on " + Thread.currentThread().getName())
                            .printStackTrace(System.out);
                    throw new BlockingOperationError(method);
                }));
        kafka = LocalKafka.shared();
        aggregator = StandaloneLauncher.Services.aggregator(kafka.bootstrapServers())
                // The delivery tests send faster than one viewer may and more than a window shows:
                // the room policy (docs/aggregator.md) is tested in the aggregator's own tests.
                .properties("danmaku.node-id=agg-1", "danmaku.aggregator.density=500",
                        "danmaku.aggregator.comment-burst=100",
                        // room topics follow live rooms: a room idle this long loses its topic
                        // (RoomTopicLifecycleEndToEndTest); long enough for every other test's rooms
                        "danmaku.aggregator.room-idle=" + ROOM_IDLE.toSeconds() + "s")
                .run();
        gatewayA = gateway("gw-a");
        gatewayB = gateway("gw-b");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            gatewayA.close();
            gatewayB.close();
            aggregator.close();
        }, "cluster-shutdown"));
    }

    public static synchronized Cluster get() {
        if (instance == null) {
            instance = new Cluster();
        }
        return instance;
    }

    private ConfigurableApplicationContext gateway(String node) {
        return StandaloneLauncher.Services.gateway(kafka.bootstrapServers())
                .properties("server.port=0", "danmaku.node-id=" + node, "danmaku.auth.jwt-secret=" + JWT_SECRET)
                .run();
    }

    public int portA() {
        return port(gatewayA);
    }

    public int portB() {
        return port(gatewayB);
    }

    public static int port(ConfigurableApplicationContext gateway) {
        return ((WebServerApplicationContext) gateway).getWebServer().getPort();
    }

    /** A room no other test uses. */
    public static String room(String name) {
        return name + "-" + ROOMS.incrementAndGet() + "-" + Long.toHexString(System.nanoTime() & 0xffffff);
    }

    /** A token from gateway A's dev endpoint. */
    public String token(String name, String role, List<String> rooms) {
        String body = WsClient.JSON.writeValueAsString(java.util.Map.of("name", name, "role", role, "rooms", rooms));
        try {
            HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder()
                            .uri(URI.create("http://localhost:" + portA() + "/api/dev/tokens"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                throw new IllegalStateException("dev token: HTTP " + response.statusCode() + " " + response.body());
            }
            return WsClient.JSON.readTree(response.body()).path("token").asString();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public String viewerToken(String name) {
        return token(name, "viewer", List.of());
    }
}
