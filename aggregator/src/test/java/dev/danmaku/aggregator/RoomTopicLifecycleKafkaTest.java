package dev.danmaku.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.aggregator.TestKafka.IngressWriter;
import dev.danmaku.aggregator.TestKafka.RoomReader;
import dev.danmaku.aggregator.metrics.ManagementServer;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Room topics follow live rooms, against the real broker: a topic only for a room that had a
 * message, deleted once the room has been idle (here 2 s), a fresh one when the room comes back
 * with its state read back; and the meters on the management port move with all of it.
 */
class RoomTopicLifecycleKafkaTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final User BO = new User("u9", "Bo");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static Admin admin;

    @BeforeAll
    static void connect() {
        admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()));
    }

    @AfterAll
    static void disconnect() {
        admin.close(Duration.ofSeconds(2));
    }

    private static ConfigurableApplicationContext start(String idle) {
        return AggregatorApplication.builder().properties(
                "danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                "danmaku.aggregator.group-id=" + TestKafka.unique("group"),
                "danmaku.node-id=" + TestKafka.unique("idle"),
                "danmaku.aggregator.room-idle=" + idle,
                "danmaku.presence.interval=300ms").properties(TestKafka.UNLIMITED).run();
    }

    @Test
    void viewersOfARoomThatNeverHadAMessageMakeNoTopic() throws Exception {
        String talking = TestKafka.unique("talking");
        String silent = TestKafka.unique("silent");
        try (ConfigurableApplicationContext aggregator = start("24h");
             IngressWriter writer = new IngressWriter(); RoomReader reader = new RoomReader(talking)) {
            TestKafka.awaitIngressTopic();
            writer.comment(talking, "hello");
            writer.flush();
            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() == 1);

            // both rooms are watched; only the one with a message has a topic to tell it on
            await().atMost(TIMEOUT).pollInSameThread().until(() -> {
                writer.presence(talking, "gw-a", 5);
                writer.presence(silent, "gw-a", 5);
                writer.flush();
                return reader.poll().stream().anyMatch(b -> Integer.valueOf(5).equals(b.viewers()));
            });
            // the presence of both rooms was read (same partition, same time): the silent room has none
            assertThat(topics()).contains(Topics.room(talking)).doesNotContain(Topics.room(silent));
        }
    }

    @Test
    void anIdleRoomLosesItsTopicAndComesBackWithAFreshOneAndItsTotals() throws Exception {
        String room = TestKafka.unique("idle");
        try (ConfigurableApplicationContext aggregator = start("2s");
             IngressWriter writer = new IngressWriter()) {
            TestKafka.awaitIngressTopic();
            int port = aggregator.getBean(ManagementServer.class).port();
            double createdBefore = metric(port, "danmaku_aggregator_topics_creations_total");
            double deletedBefore = metric(port, "danmaku_aggregator_topics_deletions_total");

            try (RoomReader reader = new RoomReader(room)) {
                writer.gift(room, BO, "g-1", "rose", 1);
                writer.flush();
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.giftCount() == 1);
            }
            assertThat(metric(port, "danmaku_aggregator_topics_creations_total")).isGreaterThan(createdBefore);

            // 2 s without messages or viewers: the topic goes, the state stays (without a latest batch)
            await().atMost(TIMEOUT).until(() -> !topics().contains(Topics.room(room)));
            RoomState idle = TestKafka.readState(room);
            assertThat(idle.seq()).isEqualTo(-1);
            assertThat(idle.gifts()).containsEntry("rose", new GiftTotal(1, 10));
            await().atMost(TIMEOUT).until(() -> metric(port, "danmaku_aggregator_topics_deletions_total") > deletedBefore);

            // it comes back: a fresh topic (seq from 0), the totals continue, a re-sent id still counts once
            writer.gift(room, BO, "g-1", "rose", 1);
            writer.gift(room, BO, "g-2", "rose", 1);
            writer.flush();
            try (RoomReader reader = new RoomReader(room)) {
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.giftCount() >= 1);
                await().pollInSameThread().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(10))
                        .until(() -> reader.giftCount() == 1);
                List<Batch> batches = reader.poll();
                assertThat(batches.get(0).seq()).isZero();
                Batch last = batches.get(batches.size() - 1);
                assertThat(last.totals().gifts()).containsExactly(Map.entry("rose", new GiftTotal(2, 20)));
            }
        }
    }

    @Test
    void theManagementPortServesTheAggregatorsMetersAndHealth() throws Exception {
        String room = TestKafka.unique("metered");
        try (ConfigurableApplicationContext aggregator = start("24h");
             IngressWriter writer = new IngressWriter(); RoomReader reader = new RoomReader(room)) {
            TestKafka.awaitIngressTopic();
            int port = aggregator.getBean(ManagementServer.class).port();
            assertThat(port).isPositive();
            awaitBacklogConsumed(port);
            double comments = metric(port, "danmaku_aggregator_ingress_total{kind=\"comment\"");
            double duplicates = metric(port, "danmaku_aggregator_drops_total{reason=\"duplicate_id\"");
            double committed = metric(port, "danmaku_aggregator_windows_total{outcome=\"committed\"");

            writer.comment(room, "m-1");
            writer.comment(room, "m-1"); // a retry: dropped as a duplicate id
            writer.flush();
            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() == 1);

            await().atMost(TIMEOUT).untilAsserted(() -> {
                assertThat(metric(port, "danmaku_aggregator_ingress_total{kind=\"comment\"")).isEqualTo(comments + 2);
                assertThat(metric(port, "danmaku_aggregator_drops_total{reason=\"duplicate_id\"")).isEqualTo(duplicates + 1);
                assertThat(metric(port, "danmaku_aggregator_windows_total{outcome=\"committed\""))
                        .isGreaterThan(committed);
                assertThat(metric(port, "danmaku_aggregator_batches_total")).isPositive();
                assertThat(metric(port, "danmaku_aggregator_rooms")).isPositive();
            });
            String scrape = get(port, "/actuator/prometheus").body();
            assertThat(scrape).contains("danmaku_aggregator_window_duration_seconds_count",
                    "danmaku_aggregator_consumer_lag", "danmaku_aggregator_topics_deletions_total",
                    "resilience4j_circuitbreaker_state{name=\"publish\",state=\"closed\"} 1.0");
            assertThat(scrape).containsPattern("resilience4j_retry_calls\\S*\\{[^}]*name=\"topics\"");
            HttpResponse<String> health = get(port, "/actuator/health/readiness");
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(health.body()).contains("UP");
        }
    }

    /** A new group starts at the oldest ingress (earlier tests' records): wait until it is consumed. */
    private static void awaitBacklogConsumed(int port) {
        double[] last = {-1};
        int[] same = {0};
        await().atMost(TIMEOUT).pollInterval(Duration.ofMillis(500)).until(() -> {
            double now = metric(port, "danmaku_aggregator_ingress_total{kind=\"comment\"");
            same[0] = now == last[0] && metric(port, "danmaku_aggregator_consumer_lag") == 0 ? same[0] + 1 : 0;
            last[0] = now;
            return same[0] >= 3;
        });
    }

    private static Set<String> topics() throws Exception {
        return admin.listTopics().names().get(10, TimeUnit.SECONDS);
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The value of the first sample whose line starts with {@code prefix} (0 when there is none). */
    private static double metric(int port, String prefix) throws Exception {
        Matcher matcher = Pattern.compile("(?m)^" + Pattern.quote(prefix) + "\\S* (\\S+)$")
                .matcher(get(port, "/actuator/prometheus").body());
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : 0;
    }
}
