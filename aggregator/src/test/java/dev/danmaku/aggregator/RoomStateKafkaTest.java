package dev.danmaku.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.danmaku.aggregator.TestKafka.IngressWriter;
import dev.danmaku.aggregator.TestKafka.RoomReader;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Room state across aggregator lives, against the real broker: gift totals exact after a clean
 * hand-over and after a SIGKILL, re-sent gift ids never counted twice, likes continuing.
 */
class RoomStateKafkaTest {

    // generous: a separate aggregator JVM took over a minute to start on a loaded shared machine
    private static final Duration TIMEOUT = Duration.ofSeconds(180);
    private static final List<User> SENDERS = List.of(new User("u1", "Alice"), new User("u2", "Bo"),
            new User("u3", "Cy"));

    @Test
    void giftTotalsContinueExactlyAfterTheRoomMovesToAnotherAggregator() {
        String room = TestKafka.unique("room");
        String group = TestKafka.unique("group");
        try (IngressWriter writer = new IngressWriter(); RoomReader reader = new RoomReader(room)) {
            try (ConfigurableApplicationContext first = TestKafka.startAggregator(group, TestKafka.unique("a"))) {
                TestKafka.awaitIngressTopic();
                sendGifts(writer, room, 0, 100);
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.giftCount() >= 100);
            }
            try (ConfigurableApplicationContext second = TestKafka.startAggregator(group, TestKafka.unique("b"))) {
                sendGifts(writer, room, 100, 200);
                sendGifts(writer, room, 0, 30); // re-sends of ids the first aggregator counted
                sendGifts(writer, room, 200, 210);
                await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.giftCount() >= 210);
                await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                        .until(() -> reader.giftCount() == 210);
            }
            assertExactTotals(reader, room, 210);
        }
    }

    /**
     * The crash test: three clients send 1,000 gifts with distinct ids and 100 re-sends of
     * ids already sent, while the aggregator process is SIGKILLed and restarted twice. The totals
     * are exactly the 1,000 gifts, and the gift counts in the batches each viewer read add up to
     * exactly 1,000.
     */
    @Test
    void giftTotalsAreExactWhenTheAggregatorProcessIsKilledAndRestartedTwice() throws Exception {
        String room = TestKafka.unique("room");
        String group = TestKafka.unique("group");
        // the same node id: each restarted process aborts its killed predecessor's open transaction at once
        String node = TestKafka.unique("crash");
        List<IngressWriter> clients = List.of(new IngressWriter(), new IngressWriter(), new IngressWriter());
        List<RoomReader> viewers = List.of(new RoomReader(room), new RoomReader(room));
        try {
            Process first = startProcess(group, node, "first");
            try {
                TestKafka.awaitIngressTopic();
                sendGifts(clients, room, 0, 300);
                await().atMost(TIMEOUT).pollInSameThread().until(() -> viewers.get(0).giftCount() >= 100);
                sendGifts(clients, room, 300, 450);
            } finally {
                first.destroyForcibly(); // SIGKILL: no flush, no commit, no leaving the group
                first.waitFor();
            }
            sendGifts(clients, room, 450, 650);
            sendGifts(clients, room, 0, 50); // re-sends
            Process second = startProcess(group, node, "second");
            try {
                await().atMost(TIMEOUT).pollInSameThread().until(() -> viewers.get(0).giftCount() >= 500);
                sendGifts(clients, room, 650, 800);
                sendGifts(clients, room, 400, 425); // re-sends, mid-stream
            } finally {
                second.destroyForcibly();
                second.waitFor();
            }
            sendGifts(clients, room, 800, 1000);
            sendGifts(clients, room, 600, 625); // re-sends
            Process third = startProcess(group, node, "third");
            try {
                await().atMost(TIMEOUT).pollInSameThread()
                        .until(() -> viewers.stream().allMatch(v -> v.giftCount() >= 1000));
                await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                        .until(() -> viewers.stream().allMatch(v -> v.giftCount() == 1000));
            } finally {
                third.destroy();
                third.waitFor();
            }
            for (RoomReader viewer : viewers) {
                assertThat(viewer.giftCount()).as("gift counts in the batches a viewer read").isEqualTo(1000);
                assertExactTotals(viewer, room, 1000);
            }
        } finally {
            clients.forEach(IngressWriter::close);
            viewers.forEach(RoomReader::close);
        }
    }

    @Test
    void giftTotalsAreExactWhenOneOfTwoAggregatorsSharingThePartitionsIsKilled() throws Exception {
        List<String> rooms = List.of(TestKafka.unique("room"), TestKafka.unique("room"), TestKafka.unique("room"),
                TestKafka.unique("room"));
        String group = TestKafka.unique("group");
        List<RoomReader> readers = rooms.stream().map(RoomReader::new).toList();
        Process first = startProcess(group, TestKafka.unique("one"), "first");
        Process second = startProcess(group, TestKafka.unique("two"), "second");
        try (IngressWriter writer = new IngressWriter()) {
            TestKafka.awaitIngressTopic();
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of(
                    org.apache.kafka.clients.admin.AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                    TestKafka.bootstrapServers()))) {
                await().atMost(TIMEOUT).until(() -> admin.describeConsumerGroups(List.of(group)).all()
                        .get(5, java.util.concurrent.TimeUnit.SECONDS).get(group).members().stream()
                        .filter(m -> !m.assignment().topicPartitions().isEmpty()).count() == 2);
            }
            for (String room : rooms) {
                sendGifts(writer, room, 0, 100);
            }
            await().atMost(TIMEOUT).pollInSameThread()
                    .until(() -> readers.stream().allMatch(r -> r.giftCount() >= 50));
            for (String room : rooms) {
                sendGifts(writer, room, 100, 150);
            }
            first.destroyForcibly(); // SIGKILL, mid-stream: the survivor takes its partitions over
            first.waitFor();
            for (String room : rooms) {
                sendGifts(writer, room, 150, 200);
                sendGifts(writer, room, 0, 50); // re-sends
            }
            await().atMost(TIMEOUT).pollInSameThread()
                    .until(() -> readers.stream().allMatch(r -> r.giftCount() >= 200));
            await().pollInSameThread().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(10))
                    .until(() -> readers.stream().allMatch(r -> r.giftCount() == 200));
            for (int i = 0; i < rooms.size(); i++) {
                assertExactTotals(readers.get(i), rooms.get(i), 200);
            }
        } finally {
            first.destroyForcibly();
            second.destroy();
            first.waitFor();
            second.waitFor();
            readers.forEach(RoomReader::close);
        }
    }

    @Test
    void viewerCountsOfTheGatewaysAreSummedOntoTheRoomsBatchesAndASilentGatewayIsForgotten() {
        String room = TestKafka.unique("room");
        try (IngressWriter writer = new IngressWriter(); RoomReader reader = new RoomReader(room);
             ConfigurableApplicationContext aggregator = AggregatorApplication.builder().properties(
                     "danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                     "danmaku.aggregator.group-id=" + TestKafka.unique("group"),
                     "danmaku.node-id=" + TestKafka.unique("p"),
                     "danmaku.presence.interval=300ms").run()) {
            TestKafka.awaitIngressTopic();
            writer.comment(room, "opens-the-room");
            writer.flush();
            await().atMost(TIMEOUT).pollInSameThread().until(() -> reader.commentIds().size() == 1);

            // two gateways keep reporting: 3 + 4 viewers, in batches that carry nothing else
            await().atMost(TIMEOUT).pollInSameThread().until(() -> {
                writer.presence(room, "gw-a", 3);
                writer.presence(room, "gw-b", 4);
                writer.flush();
                return lastViewers(reader) == 7;
            });
            // gw-b goes silent: after 3 intervals only gw-a's viewers count
            await().atMost(TIMEOUT).pollInSameThread().until(() -> {
                writer.presence(room, "gw-a", 3);
                writer.flush();
                return lastViewers(reader) == 3;
            });
            assertThat(reader.poll()).filteredOn(b -> b.viewers() != null)
                    .allSatisfy(b -> assertThat(b.comments()).as("viewers-only batches").isNullOrEmpty());
        }
    }

    private static int lastViewers(RoomReader reader) {
        List<Batch> withViewers = reader.poll().stream().filter(b -> b.viewers() != null).toList();
        return withViewers.isEmpty() ? -1 : withViewers.get(withViewers.size() - 1).viewers();
    }

    /** Gifts {@code g-from} .. {@code g-(to-1)}, one rose each: client {@code i % 3} sends gift i, as sender i % 3. */
    private static void sendGifts(List<IngressWriter> clients, String room, int from, int to) {
        for (int i = from; i < to; i++) {
            clients.get(i % clients.size()).gift(room, SENDERS.get(i % SENDERS.size()), "g-" + i, "rose", 1);
        }
        clients.forEach(IngressWriter::flush);
    }

    /** Gifts {@code g-from} .. {@code g-(to-1)}, one rose each, from three senders in turn. */
    private static void sendGifts(IngressWriter writer, String room, int from, int to) {
        for (int i = from; i < to; i++) {
            writer.gift(room, SENDERS.get(i % SENDERS.size()), "g-" + i, "rose", 1);
        }
        writer.flush();
    }

    private static void assertExactTotals(RoomReader reader, String room, int gifts) {
        List<Batch> withTotals = reader.poll().stream().filter(b -> b.totals() != null).toList();
        Batch last = withTotals.get(withTotals.size() - 1);
        assertThat(last.totals().gifts()).containsExactly(Map.entry("rose", new GiftTotal(gifts, gifts * 10L)));
        assertThat(last.totals().top()).extracting(TopEntryValue::of).containsExactlyInAnyOrderElementsOf(
                expectedTop(gifts));
        RoomState state = TestKafka.readState(room);
        assertThat(state.gifts()).containsExactly(Map.entry("rose", new GiftTotal(gifts, gifts * 10L)));
        assertThat(state.giftIds()).hasSize(gifts);
        List<Batch> all = reader.poll();
        assertThat(state.seq()).as("the state includes the room's latest batch").isEqualTo(all.get(all.size() - 1).seq());
    }

    private static List<TopEntryValue> expectedTop(int gifts) {
        List<TopEntryValue> top = new ArrayList<>();
        for (int s = 0; s < SENDERS.size(); s++) {
            long count = 0;
            for (int i = 0; i < gifts; i++) {
                if (i % SENDERS.size() == s) {
                    count++;
                }
            }
            top.add(new TopEntryValue(SENDERS.get(s).id(), count * 10));
        }
        return top;
    }

    private record TopEntryValue(String user, long value) {
        static TopEntryValue of(dev.danmaku.protocol.ServerFrame.TopEntry entry) {
            return new TopEntryValue(entry.user().id(), entry.value());
        }
    }

    /** The aggregator in a JVM of its own (the test's class path), so that it can be SIGKILLed. */
    private static Process startProcess(String group, String node, String name) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        File log = new File("target/aggregator-" + node + "-" + name + ".log");
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                AggregatorApplication.class.getName(),
                "--danmaku.kafka.bootstrap-servers=" + TestKafka.bootstrapServers(),
                "--danmaku.aggregator.group-id=" + group,
                "--danmaku.node-id=" + node)
                .redirectErrorStream(true)
                .redirectOutput(log)
                .start();
    }
}
