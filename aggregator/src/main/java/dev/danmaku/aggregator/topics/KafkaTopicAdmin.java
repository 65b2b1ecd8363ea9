package dev.danmaku.aggregator.topics;

import dev.danmaku.protocol.bus.Topics;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.github.resilience4j.retry.RetryRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import dev.danmaku.aggregator.metrics.AggregatorMetrics;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DeleteTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates topics with Kafka's {@link Admin} client: each room's topic on first use (one
 * partition, so that its offsets are the room's seq), and {@code danmaku.ingress} at start-up.
 * A topic that already exists counts as created. Retriable errors (a slow or restarting broker)
 * are retried with exponential backoff (Resilience4j {@link Retry}, 100 ms doubling up to 5 s);
 * nothing here blocks: completions run on the admin client's thread, retries on a private
 * scheduler thread.
 *
 * <p>Known room topics are cached for the life of this object. {@link #close()} stops the
 * retries and closes the admin client (owned by this object), abandoning pending creations.
 */
public final class KafkaTopicAdmin implements RoomTopics, IngressTopic, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KafkaTopicAdmin.class);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private final Admin admin;
    private final TopicSpecs specs;
    private final ScheduledExecutorService scheduler;
    private final RetryRegistry retries;
    private final Retry retry;
    private final Map<String, CompletableFuture<Void>> rooms = new ConcurrentHashMap<>();
    /** Rooms whose topic is being deleted: a new creation waits for the deletion. */
    private final Map<String, CompletableFuture<Boolean>> deleting = new ConcurrentHashMap<>();
    private final AggregatorMetrics metrics;

    /**
     * @param admin      the admin client, closed by {@link #close()}
     * @param specs      partitions, replication and configs of the topics to create
     * @param attempts   attempts per topic while the broker answers with retriable errors
     * @param threadName name of the thread that schedules retries
     */
    public KafkaTopicAdmin(Admin admin, TopicSpecs specs, int attempts, String threadName) {
        this(admin, specs, attempts, threadName, AggregatorMetrics.standalone());
    }

    /**
     * @param metrics counts the room topics created and deleted
     */
    public KafkaTopicAdmin(Admin admin, TopicSpecs specs, int attempts, String threadName, AggregatorMetrics metrics) {
        this.admin = admin;
        this.metrics = metrics;
        this.specs = specs;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true);
            return thread;
        });
        this.retries = RetryRegistry.of(RetryConfig.custom()
                .maxAttempts(attempts)
                .intervalFunction(IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(5)))
                .retryOnException(e -> unwrap(e) instanceof RetriableException)
                .build());
        this.retry = retries.retry("topics");
    }

    /** The registry of the topic creations' retry ({@code name="topics"}), for its metrics. */
    public RetryRegistry retries() {
        return retries;
    }

    @Override
    public void prepare(String room) {
        rooms.computeIfAbsent(room, this::createRoom);
    }

    @Override
    public boolean exists(String room) {
        CompletableFuture<Void> created = rooms.get(room);
        return created != null && created.isDone() && !created.isCompletedExceptionally();
    }

    @Override
    public CompletionStage<Boolean> delete(String room) {
        CompletableFuture<Void> previous = rooms.remove(room);
        CompletableFuture<Boolean> result = new CompletableFuture<>();
        CompletableFuture<Boolean> running = deleting.put(room, result);
        // after a creation or deletion still in flight, so that the last word is this deletion's
        CompletableFuture<?> before = CompletableFuture.allOf(
                previous == null ? CompletableFuture.completedFuture(null) : previous.exceptionally(e -> null),
                running == null ? CompletableFuture.completedFuture(null) : running.exceptionally(e -> false));
        String topic = dev.danmaku.protocol.bus.Topics.room(room);
        Supplier<CompletionStage<Boolean>> attempt = () -> admin
                .deleteTopics(List.of(topic), new DeleteTopicsOptions().timeoutMs((int) REQUEST_TIMEOUT.toMillis()))
                .topicNameValues().get(topic)
                .toCompletionStage()
                .handle((ok, error) -> {
                    Throwable cause = error == null ? null : unwrap(error);
                    if (cause == null) {
                        return true;
                    }
                    if (cause instanceof UnknownTopicOrPartitionException) {
                        return false;
                    }
                    throw new CompletionException(cause);
                });
        before.thenCompose(ignored -> Retry.decorateCompletionStage(retry, scheduler, attempt).get())
                .whenComplete((deleted, error) -> {
                    deleting.remove(room, result);
                    if (error != null) {
                        log.atWarn().addKeyValue("room", room)
                                .log("Cannot delete topic {}: {}", topic, unwrap(error).toString());
                        result.completeExceptionally(unwrap(error));
                        return;
                    }
                    if (deleted) {
                        metrics.topicDeleted();
                        log.atInfo().addKeyValue("room", room).log("Deleted topic {} (the room was idle)", topic);
                    }
                    result.complete(deleted);
                });
        return result;
    }

    @Override
    public State ensure(String room) {
        CompletableFuture<Void> created = rooms.computeIfAbsent(room, this::createRoom);
        if (!created.isDone()) {
            return State.PENDING;
        }
        if (created.isCompletedExceptionally()) {
            rooms.remove(room, created);
            return State.FAILED;
        }
        return State.READY;
    }

    @Override
    public CompletionStage<Void> ensure() {
        return create(specs.ingress()).thenCompose(ok -> create(specs.state()))
                .thenCompose(ok -> create(specs.presence()));
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        // Only topic creations can be pending: abandoning them is harmless, waiting delays shutdown.
        admin.close(Duration.ZERO);
    }

    /** Creates the room's topic, after its deletion if one is in flight. */
    private CompletableFuture<Void> createRoom(String room) {
        CompletableFuture<Boolean> deletion = deleting.get(room);
        if (deletion == null) {
            return create(specs.room(room));
        }
        return deletion.exceptionally(e -> false).thenCompose(ignored -> create(specs.room(room)));
    }

    private CompletableFuture<Void> create(NewTopic topic) {
        Supplier<CompletionStage<Void>> attempt = () -> admin
                .createTopics(List.of(topic), new CreateTopicsOptions().timeoutMs((int) REQUEST_TIMEOUT.toMillis()))
                .values().get(topic.name())
                .toCompletionStage()
                .handle((ok, error) -> {
                    Throwable cause = error == null ? null : unwrap(error);
                    if (cause == null) {
                        if (topic.name().startsWith(dev.danmaku.protocol.bus.Topics.ROOM_PREFIX)) {
                            metrics.topicCreated();
                        }
                        withRoom(log.atInfo(), topic.name()).log("Created topic {} ({} partitions)", topic.name(), topic.numPartitions());
                        return null;
                    }
                    if (cause instanceof TopicExistsException) {
                        return null;
                    }
                    withRoom(log.atDebug(), topic.name()).log("Creating topic {} failed: {}", topic.name(), cause.toString());
                    throw new CompletionException(cause);
                });
        // A future of our own: the admin client's futures must not be completed from outside,
        // and the caller only needs done / failed.
        CompletableFuture<Void> result = new CompletableFuture<>();
        Retry.decorateCompletionStage(retry, scheduler, attempt).get().whenComplete((ok, error) -> {
            if (error == null) {
                result.complete(null);
            } else if (scheduler.isShutdown()) {
                result.completeExceptionally(unwrap(error));
            } else {
                withRoom(log.atWarn(), topic.name()).log("Cannot create topic {}: {}", topic.name(), unwrap(error).toString());
                result.completeExceptionally(unwrap(error));
            }
        });
        return result;
    }

    /** A room topic's log lines carry the room (key {@code room}), as the rest of the service's do. */
    private static org.slf4j.spi.LoggingEventBuilder withRoom(org.slf4j.spi.LoggingEventBuilder event, String topic) {
        return topic.startsWith(dev.danmaku.protocol.bus.Topics.ROOM_PREFIX)
                ? event.addKeyValue("room", dev.danmaku.protocol.bus.Topics.roomOf(topic)) : event;
    }

    private static Throwable unwrap(Throwable error) {
        Throwable cause = error;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        return cause;
    }

    /**
     * What the topics look like.
     *
     * @param ingressPartitions  partitions of {@code danmaku.ingress}
     * @param replicationFactor  replication factor of every topic created here
     * @param roomRetention      {@code retention.ms} of the room topics
     */
    public record TopicSpecs(int ingressPartitions, short replicationFactor, Duration roomRetention) {

        NewTopic ingress() {
            return new NewTopic(Topics.INGRESS, ingressPartitions, replicationFactor);
        }

        /** The compacted room-state topic: as many partitions as the ingress, one record per room kept. */
        NewTopic state() {
            return new NewTopic(Topics.STATE, ingressPartitions, replicationFactor).configs(Map.of(
                    TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
        }

        /** Gateways' viewer counts: short-lived (a minute), as many partitions as the ingress. */
        public NewTopic presence() {
            return new NewTopic(Topics.PRESENCE, ingressPartitions, replicationFactor).configs(Map.of(
                    TopicConfig.RETENTION_MS_CONFIG, "60000",
                    TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE));
        }

        NewTopic room(String room) {
            return new NewTopic(Topics.room(room), 1, replicationFactor).configs(Map.of(
                    TopicConfig.RETENTION_MS_CONFIG, Long.toString(roomRetention.toMillis()),
                    TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE));
        }
    }
}
