package dev.danmaku.gateway.presence;

import dev.danmaku.gateway.room.RoomRegistry;
import dev.danmaku.protocol.bus.Presence;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Every {@code interval}, on a scheduler thread of its own (never an event loop), publishes this
 * node's viewer count of each room it follows ({@link RoomRegistry}) to {@code danmaku.presence}
 * (key = room), and a 0 once for each room it stopped following. Fire and forget: a lost count is
 * replaced by the next one. Publishes only once the topic exists (created here if needed, with a
 * one-minute retention), so that the broker never auto-creates it with its defaults.
 */
public final class PresencePublisher implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(PresencePublisher.class);

    private final RoomRegistry rooms;
    private final Admin admin;
    private final NewTopic topic;
    private final Map<String, Object> producerConfig;
    private final BusCodec codec;
    private final Clock clock;
    private final String node;
    private final Duration interval;
    private final Set<String> reported = new HashSet<>();
    private volatile boolean topicReady;
    private volatile boolean running;
    private @Nullable ScheduledExecutorService scheduler;
    private @Nullable KafkaProducer<String, byte[]> producer;

    public PresencePublisher(RoomRegistry rooms, Admin admin, String bootstrapServers, int partitions,
                             short replicationFactor, BusCodec codec, Clock clock, String node, Duration interval) {
        this.rooms = rooms;
        this.admin = admin;
        this.topic = new NewTopic(Topics.PRESENCE, partitions, replicationFactor).configs(Map.of(
                TopicConfig.RETENTION_MS_CONFIG, "60000",
                TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE));
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "danmaku-gateway-" + node + "-presence");
        config.put(ProducerConfig.ACKS_CONFIG, "1");
        config.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1_000);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        this.producerConfig = config;
        this.codec = codec;
        this.clock = clock;
        this.node = node;
        this.interval = interval;
    }

    @Override
    public void start() {
        running = true;
        producer = new KafkaProducer<>(producerConfig);
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "danmaku-presence-" + node);
            thread.setDaemon(true);
            return thread;
        });
        scheduler = executor;
        executor.scheduleWithFixedDelay(this::publishSafely, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void stop() {
        running = false;
        ScheduledExecutorService executor = scheduler;
        if (executor != null) {
            executor.shutdownNow();
            try {
                executor.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        KafkaProducer<String, byte[]> owned = producer;
        if (owned != null) {
            owned.close(Duration.ofSeconds(1));
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void publishSafely() {
        try {
            publish();
        } catch (RuntimeException e) {
            log.debug("Publishing viewer counts failed: {}", e.toString());
        }
    }

    private void publish() {
        if (!topicReady) {
            admin.createTopics(List.of(topic)).all().whenComplete((ok, error) -> {
                if (error == null || error instanceof TopicExistsException
                        || error.getCause() instanceof TopicExistsException) {
                    topicReady = true;
                }
            });
            return;
        }
        KafkaProducer<String, byte[]> owned = producer;
        if (owned == null) {
            return;
        }
        long now = clock.millis();
        Set<String> following = rooms.roomNames();
        for (String room : following) {
            send(owned, new Presence(node, room, rooms.viewerCount(room), now));
        }
        for (String room : reported) {
            if (!following.contains(room)) {
                send(owned, new Presence(node, room, 0, now));
            }
        }
        reported.clear();
        reported.addAll(following);
    }

    private void send(KafkaProducer<String, byte[]> owned, Presence presence) {
        owned.send(new ProducerRecord<>(Topics.PRESENCE, presence.room(), codec.encodePresence(presence)));
    }
}
