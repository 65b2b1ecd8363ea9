package dev.danmaku.aggregator.topics;

import dev.danmaku.protocol.bus.Topics;
import io.github.resilience4j.core.IntervalFunction;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
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
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
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
    private final Retry retry;
    private final Map<String, CompletableFuture<Void>> rooms = new ConcurrentHashMap<>();

    /**
     * @param admin      the admin client, closed by {@link #close()}
     * @param specs      partitions, replication and configs of the topics to create
     * @param attempts   attempts per topic while the broker answers with retriable errors
     * @param threadName name of the thread that schedules retries
     */
    public KafkaTopicAdmin(Admin admin, TopicSpecs specs, int attempts, String threadName) {
        this.admin = admin;
        this.specs = specs;
        this.scheduler = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true);
            return thread;
        });
        this.retry = Retry.of("danmaku-topics", RetryConfig.custom()
                .maxAttempts(attempts)
                .intervalFunction(IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(5)))
                .retryOnException(e -> unwrap(e) instanceof RetriableException)
                .build());
    }

    @Override
    public void prepare(String room) {
        rooms.computeIfAbsent(room, r -> create(specs.room(r)));
    }

    @Override
    public State ensure(String room) {
        CompletableFuture<Void> created = rooms.computeIfAbsent(room, r -> create(specs.room(r)));
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

    private CompletableFuture<Void> create(NewTopic topic) {
        Supplier<CompletionStage<Void>> attempt = () -> admin
                .createTopics(List.of(topic), new CreateTopicsOptions().timeoutMs((int) REQUEST_TIMEOUT.toMillis()))
                .values().get(topic.name())
                .toCompletionStage()
                .handle((ok, error) -> {
                    Throwable cause = error == null ? null : unwrap(error);
                    if (cause == null) {
                        log.info("Created topic {} ({} partitions)", topic.name(), topic.numPartitions());
                        return null;
                    }
                    if (cause instanceof TopicExistsException) {
                        return null;
                    }
                    log.debug("Creating topic {} failed: {}", topic.name(), cause.toString());
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
                log.warn("Cannot create topic {}: {}", topic.name(), unwrap(error).toString());
                result.completeExceptionally(unwrap(error));
            }
        });
        return result;
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
