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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Room state across aggregator lives, against the real broker: gift totals exact after a clean
 * hand-over, re-sent gift ids never counted twice; viewer counts. The SIGKILL tests, with viewers
 * on a real gateway, are in {@link AggregatorCrashTest}.
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
}
