package dev.danmaku.gateway.state;

import dev.danmaku.gateway.LogKeys;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Reads the compacted topic {@code danmaku.state} as a table: a {@code read_committed} consumer
 * of its own (assigned every partition, no group, from the beginning, then following) on one
 * daemon thread, keeping the latest value per room; a tombstone removes the room. The cache
 * holds at most {@code maxRooms} rooms, the least recently updated or read going first.
 *
 * <p>Readers ({@link #get}, {@link #all}) take a short lock, never wait for Kafka: they may run
 * on an event loop. Started and stopped with the application context.
 */
public final class KafkaRoomStates implements RoomStates, SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(KafkaRoomStates.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration RETRY = Duration.ofSeconds(2);

    private final String bootstrapServers;
    private final String topic;
    private final String clientId;
    private final BusCodec codec;
    private final Map<String, RoomState> cache;
    private volatile boolean running;
    private volatile @Nullable Consumer<String, byte[]> consumer;
    private @Nullable Thread thread;

    public KafkaRoomStates(String bootstrapServers, String clientId, BusCodec codec, int maxRooms) {
        this(bootstrapServers, Topics.STATE, clientId, codec, maxRooms);
    }

    /** Reads {@code topic} instead of {@code danmaku.state} (tests, on a shared broker). */
    KafkaRoomStates(String bootstrapServers, String topic, String clientId, BusCodec codec, int maxRooms) {
        this.bootstrapServers = bootstrapServers;
        this.topic = topic;
        this.clientId = clientId;
        this.codec = codec;
        this.cache = new LinkedHashMap<>(256, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, RoomState> eldest) {
                return size() > maxRooms;
            }
        };
    }

    @Override
    public @Nullable RoomState get(String room) {
        synchronized (cache) {
            return cache.get(room);
        }
    }

    @Override
    public List<RoomState> all() {
        synchronized (cache) {
            return new ArrayList<>(cache.values());
        }
    }

    @Override
    public void start() {
        running = true;
        Thread reader = new Thread(this::run, clientId);
        reader.setDaemon(true);
        thread = reader;
        reader.start();
    }

    @Override
    public void stop() {
        running = false;
        Consumer<String, byte[]> current = consumer;
        if (current != null) {
            current.wakeup();
        }
        Thread reader = thread;
        if (reader != null) {
            try {
                reader.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void run() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // the services create their topics with the right configs; a consumer must not auto-create them
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        // Its own thread, never an event loop: on a failure it waits and reads the topic anew, so
        // that a broker outage or a topic created late never stops the snapshots for good.
        while (running) {
            try (KafkaConsumer<String, byte[]> owned = new KafkaConsumer<>(config)) {
                consumer = owned;
                if (!running) {
                    return;
                }
                List<TopicPartition> partitions = awaitPartitions(owned);
                owned.assign(partitions);
                owned.seekToBeginning(partitions);
                while (running) {
                    for (ConsumerRecord<String, byte[]> record : owned.poll(POLL)) {
                        apply(record);
                    }
                }
            } catch (WakeupException e) {
                return; // stop()
            } catch (RuntimeException e) {
                log.warn("Reading {} failed; reading it again in {}", topic, RETRY, e);
                pause(RETRY);
            } finally {
                consumer = null;
            }
        }
    }

    /** Waits on the reader's own thread (not an event loop); stop() ends the wait by its flag. */
    private void pause(Duration duration) {
        long until = System.nanoTime() + duration.toNanos();
        try {
            while (running && System.nanoTime() < until) {
                Thread.sleep(Math.min(100, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        }
    }

    /** The topic's partitions, once the aggregator created it. */
    private List<TopicPartition> awaitPartitions(KafkaConsumer<String, byte[]> owned) {
        while (running) {
            List<PartitionInfo> infos;
            try {
                infos = owned.partitionsFor(topic, Duration.ofSeconds(5));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                continue; // the broker is not reachable yet: keep trying
            }
            if (infos != null && !infos.isEmpty()) {
                return infos.stream().map(info -> new TopicPartition(info.topic(), info.partition())).toList();
            }
            // not created yet: the aggregator creates it at its start (a consumer with nothing
            // assigned cannot poll, so wait here)
            pause(POLL);
        }
        throw new WakeupException();
    }

    private void apply(ConsumerRecord<String, byte[]> record) {
        String room = record.key();
        if (room == null) {
            return;
        }
        if (record.value() == null) {
            synchronized (cache) {
                cache.remove(room);
            }
            return;
        }
        try {
            RoomState state = codec.decodeState(record.value());
            synchronized (cache) {
                cache.put(room, state);
            }
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue(LogKeys.ROOM, room).setCause(e)
                    .log("Skipped an undecodable state of room {} at offset {}", room, record.offset());
        }
    }
}
