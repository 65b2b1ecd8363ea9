package dev.danmaku.aggregator;

import dev.danmaku.aggregator.TestKafka.IngressWriter;
import dev.danmaku.protocol.bus.Topics;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Not a test: a measurement, run on demand against the test JVM's in-process broker (and an
 * aggregator in a JVM of its own), printing lines that start with {@code MEASURE}:
 *
 * <pre>
 * nice -n 19 ./mvnw -o -q -pl aggregator -am test -Dtest=LiveRoomsMeasurement -Ddanmaku.bench=true \
 *   -Dsurefire.failIfNoSpecifiedTests=false [-Ddanmaku.bench.step=500 -Ddanmaku.bench.max-rooms=10000 -Ddanmaku.bench.period-seconds=10]
 * grep MEASURE aggregator/target/surefire-reports/dev.danmaku.aggregator.LiveRoomsMeasurement-output.txt
 * </pre>
 *
 * <ol>
 *   <li>a baseline: the median of 50 acknowledged writes of one record to an existing topic;</li>
 *   <li>{@code Admin.createTopics} alone, for {@code sample} (200) topics one after another;</li>
 *   <li>a room's topic through the aggregator: the first message of {@code sample} new rooms
 *       going live 5 a second, then of {@code sample} more going live 50 a second, to the room's
 *       first batch on its topic (the batch record's timestamp, set when the aggregator sent it
 *       in its transaction);</li>
 *   <li>a ramp: steps of {@code step} (500) more live rooms (topics made in bulk, then a first
 *       message each), while every live room gets a comment every {@code period-seconds} (10 s);
 *       after each step two probes, 20 rooms going live 5 a second (first message to first
 *       batch, as above) and 20 {@code Admin.createTopics} calls alone, then, after a period, the
 *       heap the test JVM (the broker, mostly) uses after a GC, the CPU the test JVM and the
 *       aggregator used during the step, and the test JVM's open files. It stops at
 *       {@code max-rooms} (10,000), or when the probe (p50 above 5x that of the first 200 rooms
 *       at 5/s, or max above 10 s), the open files (80 % of the limit) or the heap (80 % of the
 *       maximum) degrade.</li>
 * </ol>
 */
@EnabledIfSystemProperty(named = "danmaku.bench", matches = "true")
class LiveRoomsMeasurement {

    private static final int SAMPLE = Integer.getInteger("danmaku.bench.sample", 200);
    private static final int STEP = Integer.getInteger("danmaku.bench.step", 500);
    private static final int MAX_ROOMS = Integer.getInteger("danmaku.bench.max-rooms", 10000);
    private static final int PROBE = 20;
    private static final Duration PERIOD = Duration.ofSeconds(Integer.getInteger("danmaku.bench.period-seconds", 10));

    private final String prefix = TestKafka.unique("live");
    private final AtomicLong ids = new AtomicLong();

    @Test
    void roomTopicCreationAndLiveRoomsOnOneBroker() throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()));
             IngressWriter writer = new IngressWriter()) {
            Process aggregator = AggregatorCrashTest.start(TestKafka.unique("group"), TestKafka.unique("bench"), "bench",
                    "-Xmx512m", "-XX:TieredStopAtLevel=4"); // both compilers: measured, not just started
            ScheduledExecutorService keepAlive = Executors.newSingleThreadScheduledExecutor();
            try {
                TestKafka.awaitIngressTopic();
                double baseline = writeBaseline(admin);
                print("baseline: one acked write to an existing topic, p50 %.1f ms", baseline);

                List<Long> creates = new ArrayList<>();
                for (int i = 0; i < SAMPLE; i++) {
                    long start = System.nanoTime();
                    admin.createTopics(List.of(new NewTopic(Topics.room(prefix + "-admin-" + i), 1, (short) 1)
                            .configs(Map.of("retention.ms", "3600000")))).all().get(60, TimeUnit.SECONDS);
                    creates.add(System.nanoTime() - start);
                }
                print("Admin.createTopics alone, %d topics one after another: %s", SAMPLE, percentiles(creates, baseline));
                List<String> adminTopics = new ArrayList<>();
                for (int i = 0; i < SAMPLE; i++) {
                    adminTopics.add(Topics.room(prefix + "-admin-" + i));
                }
                admin.deleteTopics(adminTopics).all().get(120, TimeUnit.SECONDS);

                List<String> live = new CopyOnWriteArrayList<>();
                int[] cursor = {0};
                // every live room a comment every PERIOD: a slice of them every 100 ms
                keepAlive.scheduleAtFixedRate(() -> {
                    int slice = (int) Math.ceil(live.size() / (PERIOD.toMillis() / 100.0));
                    for (int n = 0; n < slice && !live.isEmpty(); n++) {
                        cursor[0] = (cursor[0] + 1) % live.size();
                        String room = live.get(cursor[0]);
                        writer.comment(room, "k-" + ids.incrementAndGet());
                    }
                }, 100, 100, TimeUnit.MILLISECONDS);

                List<Long> sample = goLive(writer, live, "sample", SAMPLE, 5);
                double sampleP50 = p(sample, 0.5) / 1e6;
                print("first message -> first batch, %d new rooms at 5/s: %s", SAMPLE, percentiles(sample, baseline));
                List<Long> fast = goLive(writer, live, "fast", SAMPLE, 50);
                print("first message -> first batch, %d new rooms at 50/s: %s", SAMPLE, percentiles(fast, baseline));

                Runtime runtime = Runtime.getRuntime();
                var os = (com.sun.management.UnixOperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
                int fixedPartitions = fixedPartitions(admin);
                print("ramp: live rooms | probe: first message -> first batch p50 p90 max, Admin.createTopics p50 "
                        + "| heap used after GC | CPU cores test JVM, aggregator | open files (limit %d) | partitions",
                        os.getMaxFileDescriptorCount());
                int step = 0;
                while (live.size() < MAX_ROOMS) {
                    long cpuBefore = os.getProcessCpuTime();
                    long aggregatorBefore = cpu(aggregator);
                    long wallBefore = System.nanoTime();
                    // STEP more live rooms at once: their topics made in bulk, then their first messages
                    List<String> bulk = new ArrayList<>();
                    for (int i = 0; i < STEP; i++) {
                        bulk.add(prefix + "-bulk" + step + "-" + i);
                    }
                    for (int i = 0; i < bulk.size(); i += 100) {
                        admin.createTopics(bulk.subList(i, Math.min(bulk.size(), i + 100)).stream()
                                .map(room -> new NewTopic(Topics.room(room), 1, (short) 1)
                                        .configs(Map.of("retention.ms", "3600000"))).toList())
                                .all().get(5, TimeUnit.MINUTES);
                    }
                    for (String room : bulk) {
                        writer.comment(room, "k-" + ids.incrementAndGet());
                    }
                    writer.flush();
                    try {
                        firstBatchTimestamps(new java.util.HashSet<>(bulk));
                    } catch (IllegalStateException e) { // as on the loaded machine: say so, and where
                        print("ramp stopped at %d live rooms: %d more: %s", live.size(), bulk.size(), e.getMessage());
                        return;
                    }
                    live.addAll(bulk);
                    // the probes: rooms going live one by one (5 a second), and Admin.createTopics alone
                    List<Long> times = goLive(writer, live, "probe" + step, PROBE, 5);
                    List<Long> probeCreates = new ArrayList<>();
                    for (int i = 0; i < PROBE; i++) {
                        String room = prefix + "-adminprobe" + step + "-" + i;
                        long start = System.nanoTime();
                        admin.createTopics(List.of(new NewTopic(Topics.room(room), 1, (short) 1)
                                .configs(Map.of("retention.ms", "3600000")))).all().get(60, TimeUnit.SECONDS);
                        probeCreates.add(System.nanoTime() - start);
                        live.add(room); // a live room too from now on
                    }
                    step++;
                    // a full period with every room live
                    Thread.sleep(PERIOD.toMillis());
                    double wall = System.nanoTime() - wallBefore;
                    double cores = (os.getProcessCpuTime() - cpuBefore) / wall;
                    double aggregatorCores = (cpu(aggregator) - aggregatorBefore) / wall;
                    ManagementFactory.getMemoryMXBean().gc();
                    long heap = runtime.totalMemory() - runtime.freeMemory();
                    long files = os.getOpenFileDescriptorCount();
                    double p50 = p(times, 0.5) / 1e6;
                    print("ramp: %5d rooms | %6.1f %7.1f %7.1f ms (p50 %.1fx the sample's), %5.1f ms | %5d MB of %d "
                                    + "| %.2f, %.2f | %5d | %5d",
                            live.size(), p50, p(times, 0.9) / 1e6, p(times, 1.0) / 1e6, p50 / sampleP50,
                            p(probeCreates, 0.5) / 1e6, heap >> 20, runtime.maxMemory() >> 20, cores, aggregatorCores, files,
                            live.size() + fixedPartitions);
                    String degraded = p50 > 5 * sampleP50 ? "probe p50 above 5x the sample's"
                            : p(times, 1.0) / 1e6 > 10_000 ? "probe max above 10 s"
                            : files > 0.8 * os.getMaxFileDescriptorCount() ? "open files above 80 % of the limit"
                            : heap > 0.8 * runtime.maxMemory() ? "heap above 80 %"
                            : !aggregator.isAlive() ? "the aggregator died" : null;
                    if (degraded != null) {
                        print("ramp stopped at %d live rooms: %s", live.size(), degraded);
                        return;
                    }
                }
                print("ramp stopped at %d live rooms: danmaku.bench.max-rooms reached", live.size());
            } finally {
                keepAlive.shutdownNow();
                aggregator.destroy();
                aggregator.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Sends the first message of {@code count} new rooms, {@code perSecond} a second, adds them
     * to the live rooms and returns each room's first message -> first batch time (ns).
     */
    private List<Long> goLive(IngressWriter writer, List<String> live, String name, int count, int perSecond)
            throws InterruptedException {
        Map<String, Long> sentAt = new HashMap<>();
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            long due = start + i * 1_000_000_000L / perSecond;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            }
            String room = prefix + "-" + name + "-" + i;
            sentAt.put(room, System.currentTimeMillis());
            writer.comment(room, "k-" + ids.incrementAndGet());
            writer.flush();
        }
        Map<String, Long> first = firstBatchTimestamps(sentAt.keySet());
        live.addAll(sentAt.keySet());
        List<Long> times = new ArrayList<>();
        sentAt.forEach((room, sent) -> times.add(Math.max(0, first.get(room) - sent) * 1_000_000));
        return times;
    }

    /** The timestamp of each room's first committed batch, waiting until each has one. */
    private static Map<String, Long> firstBatchTimestamps(java.util.Set<String> rooms) {
        Map<String, Long> first = new HashMap<>();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers()));
             KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(Map.of(
                     ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                     ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
                     ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
                     ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 1024,
                     ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                     ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class))) {
            List<String> topics = rooms.stream().map(Topics::room).toList();
            org.awaitility.Awaitility.await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(500))
                    .until(() -> admin.listTopics().names().get(30, TimeUnit.SECONDS).containsAll(topics));
            List<TopicPartition> partitions = topics.stream().map(t -> new TopicPartition(t, 0)).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (first.size() < rooms.size()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("no first batch in 5 minutes for " + (rooms.size() - first.size())
                            + " rooms");
                }
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(200))) {
                    // the first committed record read from the beginning (read_committed): offset 0
                    // unless the transaction that first wrote to the topic was aborted and redone
                    first.putIfAbsent(Topics.roomOf(record.topic()), record.timestamp());
                    TopicPartition partition = new TopicPartition(record.topic(), 0);
                    if (consumer.assignment().contains(partition)) {
                        consumer.pause(List.of(partition));
                    }
                }
            }
        }
        return first;
    }

    private double writeBaseline(Admin admin) throws Exception {
        String topic = Topics.room(prefix + "-baseline");
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(60, TimeUnit.SECONDS);
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, TestKafka.bootstrapServers(),
                org.apache.kafka.clients.producer.ProducerConfig.ACKS_CONFIG, "all",
                org.apache.kafka.clients.producer.ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.StringSerializer.class,
                org.apache.kafka.clients.producer.ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                org.apache.kafka.common.serialization.ByteArraySerializer.class))) {
            List<Long> times = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                long start = System.nanoTime();
                producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, "k", new byte[100])).get();
                times.add(System.nanoTime() - start);
            }
            return p(times, 0.5) / 1e6;
        }
    }

    private static int fixedPartitions(Admin admin) throws Exception {
        List<String> fixed = List.of(Topics.INGRESS, Topics.STATE, Topics.PRESENCE, "__consumer_offsets",
                "__transaction_state");
        int partitions = 0;
        for (var description : admin.describeTopics(admin.listTopics(new org.apache.kafka.clients.admin.ListTopicsOptions()
                .listInternal(true)).names().get(30, TimeUnit.SECONDS).stream().filter(fixed::contains).toList())
                .allTopicNames().get(30, TimeUnit.SECONDS).values()) {
            partitions += description.partitions().size();
        }
        return partitions + 1; // the baseline topic
    }

    private static long cpu(Process process) {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    private static double p(List<Long> values, double quantile) {
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * quantile)));
    }

    private static String percentiles(List<Long> nanos, double baselineMs) {
        return String.format(Locale.ROOT, "p50 %.1f ms (%.1fx baseline), p90 %.1f ms, p99 %.1f ms, max %.1f ms",
                p(nanos, 0.5) / 1e6, p(nanos, 0.5) / 1e6 / baselineMs, p(nanos, 0.9) / 1e6, p(nanos, 0.99) / 1e6,
                p(nanos, 1.0) / 1e6);
    }

    private static void print(String format, Object... args) {
        System.out.println("MEASURE " + String.format(Locale.ROOT, format, args));
    }
}
