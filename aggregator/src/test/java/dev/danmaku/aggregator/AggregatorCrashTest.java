package dev.danmaku.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.aggregator.TestGateway.Send;
import dev.danmaku.aggregator.TestGateway.Sender;
import dev.danmaku.aggregator.TestGateway.Viewer;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The crash tests, end to end: three clients send 1,000 gifts with distinct ids and 100
 * re-sends of ids already sent through a real gateway (WebSocket, acked), while aggregator
 * processes (JVMs of their own) are SIGKILLed. Viewers are WebSocket clients of that gateway
 * (its {@code read_committed} room feed); some of them reconnect mid-run and resume with
 * {@code since}. At the end each room's totals are exactly the sum of its distinct gifts, and the
 * gift counts in the batches every viewer received add up to exactly those gifts, each batch once.
 */
class AggregatorCrashTest {

    /**
     * Generous: a separate aggregator JVM took up to 100 s to start on the loaded shared machine
     * (nice 19 beside CPU benchmarks), a whole test 75 to 210 s.
     */
    private static final Duration TIMEOUT = Duration.ofSeconds(240);
    private static final int GIFTS = 1000;

    private final long started = System.nanoTime();

    /** Where the test is, with the seconds since it started: to see where a slow run spent its time. */
    private void progress(String what) {
        System.out.printf("crash test, %5.1f s: %s%n", (System.nanoTime() - started) / 1e9, what);
    }

    @Test
    void whatViewersGetAndTheTotalsAreExactWhileTheAggregatorProcessIsKilledAndRestartedTwice() throws Exception {
        String room = TestKafka.unique("room");
        String group = TestKafka.unique("group");
        // the same node id: each restarted process aborts its killed predecessor's open transaction at once
        String node = TestKafka.unique("crash");
        List<Process> processes = new ArrayList<>();
        processes.add(start(group, node, "first")); // first: it starts while the gateway does
        try (TestGateway gateway = new TestGateway();
             Clients clients = new Clients(gateway, List.of(room), 3)) {
            List<Viewer> viewers = clients.viewers(room);
            Viewer resuming = viewers.get(2); // reconnects with `since` after each kill
            TestKafka.awaitIngressTopic();

            int repeated = clients.send(TestGateway.gifts(room, 0, 300));
            await().atMost(TIMEOUT).until(() -> viewers.stream().allMatch(v -> v.giftCount() >= 100));
            progress("the first aggregator runs");
            repeated += clients.send(TestGateway.gifts(room, 300, 450));
            kill(processes.get(0)); // SIGKILL mid-stream: no flush, no commit, no leaving the group

            processes.add(start(group, node, "second")); // restarted at once; it takes a while to start
            resuming.reconnect();
            repeated += clients.send(TestGateway.gifts(room, 450, 650));
            repeated += clients.send(TestGateway.gifts(room, 0, 50)); // re-sends
            await().atMost(TIMEOUT).until(() -> viewers.get(0).giftCount() >= 500);
            progress("the second aggregator runs");
            repeated += clients.send(TestGateway.gifts(room, 650, 800));
            repeated += clients.send(TestGateway.gifts(room, 400, 425)); // re-sends, mid-stream
            kill(processes.get(1));

            processes.add(start(group, node, "third"));
            resuming.reconnect();
            repeated += clients.send(TestGateway.gifts(room, 800, GIFTS));
            repeated += clients.send(TestGateway.gifts(room, 600, 625)); // re-sends
            progress("all sent; gifts sent again after an error answer: " + repeated);

            awaitExactly(viewers, GIFTS);
            progress("every viewer has every gift");
            assertThat(resuming.reconnects()).isEqualTo(2);
            assertExactTotals(gateway, clients, room, viewers, 0, GIFTS, 1);
        } finally {
            stopAll(processes);
        }
    }

    /**
     * Two aggregator JVMs in one consumer group share the ingress partitions; one is SIGKILLed
     * mid-run and the other takes its partitions over. One room per ingress partition, so that
     * both own rooms whatever the assignment; gift i goes to room i % rooms.
     */
    @Test
    void whatViewersGetAndTheTotalsAreExactWhenOneOfTwoAggregatorsSharingThePartitionsIsKilled() throws Exception {
        String group = TestKafka.unique("group");
        List<Process> processes = new ArrayList<>();
        processes.add(start(group, TestKafka.unique("one"), "first")); // first: they start while the gateway does
        processes.add(start(group, TestKafka.unique("two"), "second"));
        try (TestGateway gateway = new TestGateway(); Admin admin = Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()))) {
            TestKafka.awaitIngressTopic();
            List<String> rooms = roomPerPartition(admin.describeTopics(List.of(Topics.INGRESS)).allTopicNames()
                    .get(30, TimeUnit.SECONDS).get(Topics.INGRESS).partitions().size());
            try (Clients clients = new Clients(gateway, rooms, 2)) {
                await().atMost(TIMEOUT).until(() -> admin.describeConsumerGroups(List.of(group)).all()
                        .get(5, TimeUnit.SECONDS).get(group).members().stream()
                        .filter(m -> !m.assignment().topicPartitions().isEmpty()).count() == 2);

                progress("both aggregators own partitions");
                int repeated = clients.send(spread(rooms, 0, 400));
                await().atMost(TIMEOUT).until(() -> rooms.stream().allMatch(r ->
                        clients.viewers(r).stream().allMatch(v -> v.giftCount() >= 10)));
                repeated += clients.send(spread(rooms, 400, 600));
                kill(processes.get(0)); // SIGKILL mid-stream: the survivor takes its partitions over

                for (String room : rooms) {
                    clients.viewers(room).get(1).reconnect();
                }
                repeated += clients.send(spread(rooms, 600, GIFTS));
                repeated += clients.send(spread(rooms, 0, 100)); // re-sends
                progress("all sent; gifts sent again after an error answer: " + repeated);

                for (int r = 0; r < rooms.size(); r++) {
                    String room = rooms.get(r);
                    awaitExactly(clients.viewers(room), giftsOf(r, rooms.size()));
                }
                progress("every viewer has every gift");
                for (int r = 0; r < rooms.size(); r++) {
                    assertExactTotals(gateway, clients, rooms.get(r), clients.viewers(rooms.get(r)), r, GIFTS,
                            rooms.size());
                }
            }
        } finally {
            stopAll(processes);
        }
    }

    /** Three senders and {@code viewersPerRoom} viewers of each room, all connected to the gateway. */
    private static final class Clients implements AutoCloseable {

        final List<Sender> senders = new ArrayList<>();
        final Map<String, List<Viewer>> viewers = new HashMap<>();

        Clients(TestGateway gateway, List<String> rooms, int viewersPerRoom) {
            for (String name : List.of("Alice", "Bo", "Cy")) {
                senders.add(gateway.sender(name));
            }
            for (String room : rooms) {
                List<Viewer> ofRoom = new ArrayList<>();
                for (int i = 0; i < viewersPerRoom; i++) {
                    ofRoom.add(gateway.viewer(room));
                }
                viewers.put(room, ofRoom);
            }
        }

        List<Viewer> viewers(String room) {
            return viewers.get(room);
        }

        int send(List<Send> sends) {
            return TestGateway.sendUntilAcked(senders, sends);
        }

        @Override
        public void close() {
            senders.forEach(Sender::close);
            viewers.values().forEach(list -> list.forEach(Viewer::close));
        }
    }

    /** Gifts {@code g-from} .. {@code g-(to-1)}: gift i to room i % rooms, by sender i % 3. */
    private static List<Send> spread(List<String> rooms, int from, int to) {
        List<Send> sends = new ArrayList<>();
        for (int i = from; i < to; i++) {
            sends.add(new Send(i % 3, rooms.get(i % rooms.size()), "g-" + i));
        }
        return sends;
    }

    /** How many of the gifts 0 .. GIFTS-1 go to room {@code r} of {@code rooms}. */
    private static int giftsOf(int r, int rooms) {
        return (int) Stream.iterate(r, i -> i < GIFTS, i -> i + rooms).count();
    }

    /** Every viewer gets exactly {@code gifts} gifts in its batches, and no more come. */
    private static void awaitExactly(List<Viewer> viewers, int gifts) {
        await().atMost(TIMEOUT).until(() -> viewers.stream().allMatch(v -> v.giftCount() >= gifts));
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(20))
                .until(() -> viewers.stream().allMatch(v -> v.giftCount() == gifts));
        for (Viewer viewer : viewers) {
            assertThat(viewer.giftCount()).as("gift counts in the batches a viewer got").isEqualTo(gifts);
            assertThat(viewer.seqs()).as("each batch once, in order").isSorted().doesNotHaveDuplicates();
        }
    }

    /**
     * The room's totals are exactly its gifts (room {@code r} of {@code rooms} gets gifts i with
     * i % rooms == r, each one rose worth 10 from sender i % 3): on every viewer's last batch with
     * totals, in the gateway's snapshot and in the room's state.
     */
    private static void assertExactTotals(TestGateway gateway, Clients clients, String room, List<Viewer> viewers,
                                          int r, int gifts, int rooms) {
        long count = 0;
        Map<String, Long> top = new HashMap<>();
        for (int i = r; i < gifts; i += rooms) {
            count++;
            top.merge(clients.senders.get(i % 3).userId, 10L, Long::sum);
        }
        for (Viewer viewer : viewers) {
            JsonNode totals = viewer.lastTotals();
            assertThat(totals).as("totals in a viewer's batches").isNotNull();
            assertThat(totals.path("gifts").path("rose").path("count").asLong()).isEqualTo(count);
            assertThat(totals.path("gifts").path("rose").path("value").asLong()).isEqualTo(count * 10);
            assertThat(topOf(totals.path("top"))).isEqualTo(top);
        }
        long expected = count;
        await().atMost(TIMEOUT).ignoreExceptions().until(() ->
                gateway.snapshot(room).path("gifts").path("rose").path("count").asLong() == expected);
        JsonNode snapshot = gateway.snapshot(room);
        assertThat(snapshot.path("gifts").path("rose").path("value").asLong()).isEqualTo(count * 10);
        assertThat(topOf(snapshot.path("top"))).isEqualTo(top);
        RoomState state = TestKafka.readState(room);
        assertThat(state.gifts()).containsExactly(Map.entry("rose", new GiftTotal(count, count * 10)));
        assertThat(state.giftIds()).hasSize((int) count);
    }

    private static Map<String, Long> topOf(JsonNode top) {
        Map<String, Long> values = new HashMap<>();
        top.forEach(entry -> values.put(entry.path("user").path("id").asString(), entry.path("value").asLong()));
        return values;
    }

    /** One room name for each ingress partition (the producer's default partitioner: murmur2 of the key). */
    private static List<String> roomPerPartition(int partitions) {
        String[] rooms = new String[partitions];
        int found = 0;
        while (found < partitions) {
            String room = TestKafka.unique("room");
            int partition = Utils.toPositive(Utils.murmur2(room.getBytes(StandardCharsets.UTF_8))) % partitions;
            if (rooms[partition] == null) {
                rooms[partition] = room;
                found++;
            }
        }
        return List.of(rooms);
    }

    /**
     * The aggregator in a JVM of its own (the test's class path), so that it can be SIGKILLed;
     * its output in {@code target/aggregator-<node>-<name>.log}.
     */
    static Process start(String group, String node, String name, String... jvmOptions) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                // C1 only and the serial collector: a quicker start on a loaded 2-core machine
                "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(List.of(jvmOptions)); // a later -Xmx wins
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), AggregatorApplication.class.getName(),
                "--danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                "--danmaku.aggregator.group-id=" + group,
                "--danmaku.node-id=" + node));
        return new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(new File("target/aggregator-" + node + "-" + name + ".log"))
                .start();
    }

    private static void kill(Process process) throws InterruptedException {
        process.destroyForcibly(); // SIGKILL
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    private static void stopAll(List<Process> processes) throws InterruptedException {
        for (Process process : processes) {
            process.destroy(); // SIGTERM: a clean stop, if it still runs
        }
        for (Process process : processes) {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }
}
