package dev.danmaku.aggregator.pipeline;

import dev.danmaku.aggregator.batch.RoomWindows;
import dev.danmaku.aggregator.presence.PresenceSource;
import dev.danmaku.aggregator.presence.ViewerCounts;
import dev.danmaku.aggregator.topics.IngressTopic;
import dev.danmaku.aggregator.topics.RoomTopics;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.Presence;
import dev.danmaku.protocol.bus.RoomState;
import dev.danmaku.protocol.bus.Topics;
import dev.danmaku.protocol.codec.BusCodec;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.function.Supplier;
import dev.danmaku.aggregator.metrics.AggregatorMetrics;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.utils.Utils;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-transform-produce loop of one aggregator, exactly once.
 *
 * <p>{@link #run()} runs on one dedicated thread until {@link #stop()}. It polls
 * {@code danmaku.ingress} with a raw consumer, adds every record to its room's window
 * ({@link RoomWindows}) and, every {@code window}, publishes all rooms' batches in one Kafka
 * transaction together with the offsets of everything consumed so far:
 * {@code beginTransaction -> send batches -> sendOffsetsToTransaction(offsets, groupMetadata)
 * -> commitTransaction}. So a batch is visible to {@code read_committed} readers exactly when
 * the records it was made of are marked consumed. If the transaction fails it is aborted, the
 * windows are forgotten and the consumer is rewound to the first uncommitted record of each
 * partition: the same records make the same batches again, nothing is lost or doubled.
 *
 * <p>A window whose room topic does not exist yet waits while the topic is created, and with it
 * every room with uncommitted records on the same ingress partition (offsets are committed per
 * partition: a partition's offset may only move past records whose batches are published); the
 * other partitions' rooms are published and their offsets committed as usual. The waiting
 * partitions are paused meanwhile so that memory stays bounded. On a rebalance the pending windows are published before the
 * partitions go (or forgotten if they cannot be, and then consumed again by the new owner from
 * the committed offsets); lost partitions' windows are forgotten. A fatal producer error
 * (fenced by another instance with the same node id, say) ends the session: the clients are
 * closed and a new session starts after a second, from the committed offsets.
 *
 * <p>One instance serves one run: create a new one to start again.
 */
public final class AggregationLoop {

    private static final Logger log = LoggerFactory.getLogger(AggregationLoop.class);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration RESTART_BACKOFF = Duration.ofSeconds(1);
    private static final Duration SLOW_TOPICS = Duration.ofSeconds(1);

    private final KafkaClients clients;
    private final IngressTopic ingressTopic;
    private final RoomTopics roomTopics;
    private final RoomWindows windows;
    private final RoomStateSource states;
    private final Supplier<PresenceSource> presenceSources;
    private final ViewerCounts viewerCounts;
    private final long presenceIntervalMillis;
    private final BusCodec codec;
    private final Clock clock;
    private final long windowNanos;
    private final long roomIdleMillis;
    private final long sweepMillis;
    private final AggregatorMetrics metrics;
    private final CircuitBreaker breaker;
    private final UndecodableRecords undecodable = new UndecodableRecords(Duration.ofSeconds(10), System::nanoTime);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean stopRequested;
    private volatile @Nullable Consumer<?, ?> activeConsumer;

    /**
     * @param clients      creates each session's consumer and producer
     * @param ingressTopic makes sure the ingress topic exists before the consumer subscribes
     * @param roomTopics   makes sure a room topic exists before a batch goes to it
     * @param windows      the windows and room state, owned by this loop from now on
     * @param states       where the rooms' committed state is read back when partitions are assigned
     * @param presence     opens, per session, the source of the gateways' viewer counts
     * @param presenceInterval how often gateways publish viewer counts: a gateway silent for 3 is
     *                     forgotten, and a room's viewers-only batch goes out at most once per interval
     * @param codec        encodes batches, decodes ingress records
     * @param clock        the batches' {@code ts}
     * @param window       how often the windows are published
     */
    public AggregationLoop(KafkaClients clients, IngressTopic ingressTopic, RoomTopics roomTopics,
                           RoomWindows windows, RoomStateSource states, Supplier<PresenceSource> presence,
                           Duration presenceInterval, BusCodec codec, Clock clock, Duration window) {
        this(clients, ingressTopic, roomTopics, windows, states, presence, presenceInterval, codec, clock, window,
                Duration.ofHours(24), AggregatorMetrics.standalone(), CircuitBreaker.ofDefaults("publish"));
    }

    /**
     * The same, with the idle policy, the meters and the publish path's circuit breaker.
     *
     * @param roomIdle a room without messages and without viewers for this long is evicted from
     *                 memory and its topic deleted
     * @param metrics  the meters the loop moves
     * @param breaker  guards the window transactions: while it is open no transaction is tried
     *                 and consumption is paused (the windows wait, then are published together)
     */
    public AggregationLoop(KafkaClients clients, IngressTopic ingressTopic, RoomTopics roomTopics,
                           RoomWindows windows, RoomStateSource states, Supplier<PresenceSource> presence,
                           Duration presenceInterval, BusCodec codec, Clock clock, Duration window,
                           Duration roomIdle, AggregatorMetrics metrics, CircuitBreaker breaker) {
        this.roomIdleMillis = roomIdle.toMillis();
        // often enough that a room is gone within a few percent of its idle time; at most every second
        this.sweepMillis = Math.max(window.toMillis(), Math.min(roomIdle.toMillis() / 10, 60_000));
        this.metrics = metrics;
        this.breaker = breaker;
        this.clients = clients;
        this.ingressTopic = ingressTopic;
        this.roomTopics = roomTopics;
        this.windows = windows;
        this.states = states;
        this.presenceSources = presence;
        this.viewerCounts = new ViewerCounts(presenceInterval);
        this.presenceIntervalMillis = presenceInterval.toMillis();
        this.codec = codec;
        this.clock = clock;
        this.windowNanos = window.toNanos();
    }

    /** Runs sessions until {@link #stop()}; returns once the clients are closed. */
    public void run() {
        while (!stopRequested) {
            try {
                runSession();
            } catch (RuntimeException e) {
                windows.rollback();
                if (stopRequested) {
                    break;
                }
                log.error("Aggregation session failed; starting a new one in {} ms", RESTART_BACKOFF.toMillis(), e);
                awaitStop(RESTART_BACKOFF);
            }
        }
        log.info("Aggregation loop stopped");
    }

    /**
     * Asks the loop to publish what it has and return. Thread-safe, does not wait: a poll in
     * progress is woken up at once, a transaction in progress completes first.
     */
    public void stop() {
        stopRequested = true;
        stopped.countDown();
        Consumer<?, ?> consumer = activeConsumer;
        if (consumer != null) {
            consumer.wakeup();
        }
    }

    private void runSession() {
        awaitIngressTopic();
        if (stopRequested) {
            return;
        }
        Producer<String, byte[]> producer = clients.producer();
        @Nullable Consumer<String, byte[]> consumer = null;
        PresenceSource presence = presenceSources.get();
        try {
            producer.initTransactions();
            consumer = clients.consumer();
            activeConsumer = consumer;
            // stop() may have read activeConsumer just before it was set, and its wakeup missed
            if (!stopRequested) {
                new Session(consumer, producer, presence).run();
            }
        } finally {
            activeConsumer = null;
            if (consumer != null) {
                Consumer<String, byte[]> owned = consumer;
                closeQuietly(() -> owned.close(CLOSE_TIMEOUT), "consumer");
            }
            closeQuietly(() -> producer.close(CLOSE_TIMEOUT), "producer");
            closeQuietly(presence::close, "presence consumer");
        }
    }

    private void awaitIngressTopic() {
        CompletableFuture<Void> ready = ingressTopic.ensure().toCompletableFuture();
        while (!stopRequested) {
            try {
                ready.get(100, TimeUnit.MILLISECONDS);
                return;
            } catch (TimeoutException e) {
                // not yet: look at stopRequested again
            } catch (ExecutionException e) {
                throw new IllegalStateException("cannot create " + Topics.INGRESS, e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating " + Topics.INGRESS, e);
            }
        }
    }

    private void awaitStop(Duration timeout) {
        try {
            stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopRequested = true;
        }
    }

    private static void closeQuietly(Runnable close, String what) {
        try {
            close.run();
        } catch (RuntimeException e) {
            log.warn("Closing the {} failed", what, e);
        }
    }

    /** One consumer and one producer, from subscribe to close. Used by the loop thread only. */
    private final class Session implements ConsumerRebalanceListener {

        private final Consumer<String, byte[]> consumer;
        private final Producer<String, byte[]> producer;
        private final PresenceSource presence;
        /** The viewers last published per room, and when (clock millis). */
        private final Map<String, long[]> publishedViewers = new HashMap<>();
        /** Offsets to commit with the next transaction: the next record to read, per partition. */
        private final Map<TopicPartition, OffsetAndMetadata> consumed = new HashMap<>();
        /** Where to seek if the next transaction fails: the first record not yet committed, per partition. */
        private final Map<TopicPartition, Long> rewindTo = new HashMap<>();
        /** The rooms of the records not yet committed, per partition. */
        private final Map<TopicPartition, Set<String>> uncommittedRooms = new HashMap<>();
        /** The partitions held back by the last tick: a room topic of theirs is pending. */
        private Set<TopicPartition> held = Set.of();
        /** When the windows started waiting for room topics (System.nanoTime), or 0. */
        private long blockedSince;
        /** The publish circuit breaker refused the last tick: consumption waits. */
        private boolean breakerRefused;
        /** When idle rooms were last looked for, and the lag last measured (clock millis). */
        private long lastSweep;
        private long lastLag;
        private boolean reportedSlowTopics;

        Session(Consumer<String, byte[]> consumer, Producer<String, byte[]> producer, PresenceSource presence) {
            this.consumer = consumer;
            this.producer = producer;
            this.presence = presence;
        }

        void run() {
            try {
                consumer.subscribe(List.of(Topics.INGRESS), this);
                long nextTick = System.nanoTime() + windowNanos;
                while (!stopRequested) {
                    Duration wait = Duration.ofNanos(Math.max(0, nextTick - System.nanoTime()));
                    accept(consumer.poll(wait));
                    long received = clock.millis();
                    for (Presence count : presence.poll()) {
                        viewerCounts.update(count, received);
                    }
                    long now = System.nanoTime();
                    if (now - nextTick >= 0) {
                        if (tick() || onlyHeldUncommitted()) {
                            // idle rooms only from here: not while stopping or in a rebalance
                            sweepIdle(clock.millis());
                        }
                        nextTick += windowNanos;
                        if (nextTick - System.nanoTime() < 0) {
                            // a slow tick: start the next window now rather than publish a burst of tiny ones
                            nextTick = System.nanoTime() + windowNanos;
                        }
                    }
                    pauseWhileBlocked();
                }
            } catch (RuntimeException e) {
                if (!(e instanceof WakeupException && stopRequested)) {
                    abandon();
                    throw e;
                }
            }
            // Publish what is pending so that whoever takes the partitions over starts from here.
            try {
                if (!tick()) {
                    dropPending(Set.of());
                }
            } catch (RuntimeException e) {
                log.warn("Could not publish the last windows while stopping; they will be consumed again", e);
                abandon();
            }
        }

        private void accept(ConsumerRecords<String, byte[]> records) {
            if (records.isEmpty()) {
                return;
            }
            Map<TopicPartition, List<Ingress>> decoded = new java.util.LinkedHashMap<>();
            Set<String> dormant = new java.util.HashSet<>();
            for (TopicPartition partition : records.partitions()) {
                List<ConsumerRecord<String, byte[]>> list = records.records(partition);
                if (list.isEmpty()) {
                    continue;
                }
                rewindTo.putIfAbsent(partition, list.get(0).offset());
                consumed.put(partition, new OffsetAndMetadata(list.get(list.size() - 1).offset() + 1));
                Set<String> roomsOfPartition = uncommittedRooms.computeIfAbsent(partition, p -> new java.util.HashSet<>());
                List<Ingress> ingress = new ArrayList<>(list.size());
                for (ConsumerRecord<String, byte[]> record : list) {
                    try {
                        Ingress one = codec.decodeIngress(Objects.requireNonNull(record.value(), "no value"));
                        ingress.add(one);
                        roomsOfPartition.add(one.room());
                        if (windows.isDormant(one.room())) {
                            dormant.add(one.room());
                        }
                    } catch (RuntimeException e) {
                        undecodable.skipped(record.topic(), record.partition(), record.offset(), e);
                    }
                }
                decoded.put(partition, ingress);
            }
            if (!dormant.isEmpty()) {
                wake(dormant);
            }
            decoded.values().forEach(list -> list.forEach(this::accept));
        }

        /** Rooms evicted while idle have traffic again: their state is read back first. */
        private void wake(Set<String> rooms) {
            long started = System.nanoTime();
            int restored = 0;
            for (RoomState state : states.load(rooms::contains)) {
                windows.restore(state);
                restored++;
            }
            rooms.forEach(windows::wake);
            log.info("{} idle rooms have traffic again: restored the state of {} in {} ms", rooms.size(), restored,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
        }

        private void accept(Ingress ingress) {
            RoomWindows.Outcome outcome = windows.add(ingress);
            metrics.ingress(ingress.frame(), outcome);
            if (outcome == RoomWindows.Outcome.ADDED) {
                // start creating the room's topic now rather than when the window closes
                roomTopics.prepare(ingress.room());
            } else if (log.isDebugEnabled()) {
                log.atDebug().addKeyValue("room", ingress.room()).log("{}: a {} in room {} from {}", outcome,
                        ingress.frame().getClass().getSimpleName(), ingress.room(), ingress.user().id());
            }
        }

        /**
         * Publishes the windows and commits the consumed offsets in one transaction.
         *
         * @return true when everything consumed so far is committed (or there was nothing),
         *         false when it is still pending (waiting for room topics) or was rolled back
         */
        private boolean tick() {
            long now = clock.millis();
            measureLag(now);
            boolean done = publishWindows(now);
            metrics.rooms(windows.roomsInMemory());
            return done;
        }

        private boolean publishWindows(long now) {
            if (consumed.isEmpty()) {
                List<Batch> viewersOnly = viewersOnlyBatches(Set.of(), now);
                if (viewersOnly.isEmpty()) {
                    breakerRefused = false; // nothing waits for it: consume
                    return true;
                }
                return permitted() && publish(viewersOnly, now);
            }
            Set<String> heldRooms = holdBack(pendingRoomTopics());
            if (held.containsAll(consumed.keySet())) {
                return false; // nothing to commit until a topic is ready
            }
            if (!permitted()) {
                return false; // before the drain: the windows stay open and wait
            }
            List<Batch> batches = new ArrayList<>();
            for (Batch batch : windows.drain(now, room -> !heldRooms.contains(room))) {
                batches.add(withViewers(batch, viewerCounts.viewers(batch.room(), now)));
            }
            batches.addAll(viewersOnlyBatches(windows.drainedStates().stream().map(RoomState::room)
                    .collect(java.util.stream.Collectors.toSet()), now));
            return publish(batches, now) && held.isEmpty();
        }

        /** True when what is not committed is only that of the partitions held back for room topics. */
        private boolean onlyHeldUncommitted() {
            return !held.isEmpty() && held.containsAll(consumed.keySet());
        }

        /**
         * The partitions that must wait for {@code pending} room topics ({@link #held}): those
         * with uncommitted records of a pending room, and with them every room with uncommitted
         * records there (and, should a room have records on several partitions, those too).
         *
         * @return the rooms whose windows must stay open
         */
        private Set<String> holdBack(Set<String> pending) {
            if (pending.isEmpty()) {
                held = Set.of();
                return Set.of();
            }
            Set<TopicPartition> partitions = new java.util.HashSet<>();
            Set<String> rooms = new java.util.HashSet<>(pending);
            boolean grew = true;
            while (grew) {
                grew = false;
                for (Map.Entry<TopicPartition, Set<String>> entry : uncommittedRooms.entrySet()) {
                    if (!partitions.contains(entry.getKey()) && !java.util.Collections.disjoint(entry.getValue(), rooms)) {
                        partitions.add(entry.getKey());
                        grew |= rooms.addAll(entry.getValue());
                    }
                }
            }
            held = partitions;
            return rooms;
        }

        /**
         * Asks the publish circuit breaker for a transaction. When it refuses (the broker failed
         * the last transactions), the windows wait, consumption paused, rather than hammer it.
         */
        private boolean permitted() {
            breakerRefused = !breaker.tryAcquirePermission();
            return !breakerRefused;
        }

        /** Publishes in one transaction; a permission of the breaker ({@link #permitted()}) must be held. */
        private boolean publish(List<Batch> batches, long now) {
            long started = System.nanoTime();
            try {
                producer.beginTransaction();
                List<Future<RecordMetadata>> sent = new ArrayList<>(batches.size());
                for (Batch batch : batches) {
                    sent.add(producer.send(new ProducerRecord<>(Topics.room(batch.room()), batch.room(),
                            codec.encodeBatch(batch))));
                }
                // A batch's offset is its seq; the room state records which batch it includes (the
                // snapshot's seq). The sends are in flight together: one round trip for all.
                for (int i = 0; i < batches.size(); i++) {
                    windows.published(batches.get(i).room(), offsetOf(sent.get(i)));
                }
                // the rooms' new state, in the same transaction: whoever owns a room next starts from it
                for (RoomState state : windows.drainedStates()) {
                    producer.send(new ProducerRecord<>(Topics.STATE, state.room(), codec.encodeState(state)));
                }
                Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(consumed);
                offsets.keySet().removeAll(held);
                if (!offsets.isEmpty()) {
                    producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
                }
                producer.commitTransaction();
            } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException
                     | UnsupportedVersionException e) {
                // This producer can do nothing more: end the session; the next one starts from
                // the committed offsets.
                breaker.onError(System.nanoTime() - started, TimeUnit.NANOSECONDS, e);
                metrics.aborted();
                abandon();
                throw e;
            } catch (KafkaException e) {
                breaker.onError(System.nanoTime() - started, TimeUnit.NANOSECONDS, e);
                metrics.aborted();
                log.warn("A transaction of {} batches failed; aborting and consuming its records again",
                        batches.size(), e);
                try {
                    producer.abortTransaction();
                } catch (KafkaException abortFailure) {
                    abandon();
                    throw abortFailure;
                }
                dropPending(Set.of());
                return false;
            } catch (RuntimeException e) {
                // anything else ends the session; the breaker must not keep a half-open permit
                breaker.onError(System.nanoTime() - started, TimeUnit.NANOSECONDS, e);
                metrics.aborted();
                throw e;
            }
            long took = System.nanoTime() - started;
            breaker.onSuccess(took, TimeUnit.NANOSECONDS);
            long densityDropped = 0;
            for (Batch batch : batches) {
                densityDropped += batch.dropped() == null ? 0 : batch.dropped();
            }
            metrics.committed(took, batches.size(), densityDropped);
            windows.commit();
            // what the held partitions consumed stays uncommitted, in their rooms' open windows
            consumed.keySet().retainAll(held);
            rewindTo.keySet().retainAll(held);
            uncommittedRooms.keySet().retainAll(held);
            for (Batch batch : batches) {
                if (batch.viewers() != null) {
                    publishedViewers.put(batch.room(), new long[] {batch.viewers(), now});
                }
            }
            return true;
        }

        /**
         * Batches that only tell a changed viewer count, for this aggregator's rooms without a
         * batch in this tick: at most one per room per presence interval, only once the room's
         * topic exists.
         */
        private List<Batch> viewersOnlyBatches(Set<String> drained, long now) {
            Set<String> reported = viewerCounts.rooms();
            if (reported.isEmpty() && publishedViewers.isEmpty()) {
                return List.of();
            }
            Set<String> candidates = new java.util.HashSet<>(reported);
            candidates.addAll(publishedViewers.keySet());
            candidates.removeAll(drained);
            Predicate<String> mine = null;
            List<Batch> batches = new ArrayList<>();
            for (String room : candidates) {
                Integer viewers = viewerCounts.viewers(room, now);
                long[] last = publishedViewers.get(room);
                int count = viewers == null ? 0 : viewers;
                if (last == null ? count == 0 : last[0] == count || now - last[1] < presenceIntervalMillis) {
                    continue;
                }
                if (mine == null) {
                    mine = ownedBy(consumer.assignment());
                }
                if (!mine.test(room)) {
                    continue;
                }
                // Only rooms that have a topic: a viewer of a room without any message (a random
                // room name, say) must not make one. After a restart the state tells (seq >= 0).
                if (!roomTopics.exists(room) && windows.state(room).seq() < 0) {
                    continue;
                }
                if (roomTopics.ensure(room) != RoomTopics.State.READY) {
                    continue; // being created: next time
                }
                batches.add(new Batch(room, -1, now, null, null, null, count, null, null));
            }
            publishedViewers.keySet().removeIf(room -> !reported.contains(room) && publishedViewers.get(room)[0] == 0);
            return batches;
        }

        private static Batch withViewers(Batch batch, @Nullable Integer viewers) {
            return viewers == null ? batch : new Batch(batch.room(), batch.seq(), batch.ts(), batch.comments(),
                    batch.likes(), batch.gifts(), viewers, batch.dropped(), batch.totals());
        }

        private long offsetOf(Future<RecordMetadata> send) {
            try {
                return send.get(TransactionalKafkaClients.MAX_BLOCK.toMillis() * 2, TimeUnit.MILLISECONDS).offset();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof KafkaException kafka ? kafka : new KafkaException(e.getCause());
            } catch (TimeoutException e) {
                throw new KafkaException("a batch was not acknowledged in time", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new KafkaException("interrupted while publishing", e);
            }
        }

        /**
         * The rooms with an open window whose topic is still being created. A room whose topic
         * cannot be created loses its window (logged): waiting for it would hold other rooms back.
         */
        private Set<String> pendingRoomTopics() {
            Set<String> pending = new java.util.HashSet<>();
            for (String room : windows.rooms()) {
                switch (roomTopics.ensure(room)) {
                    case READY -> {
                    }
                    case PENDING -> pending.add(room);
                    case FAILED -> log.atError().addKeyValue("room", room).log("Dropped the window of room {} ({} comments): its topic cannot be created",
                            room, windows.discard(room));
                }
            }
            long now = System.nanoTime();
            if (pending.isEmpty()) {
                if (reportedSlowTopics) {
                    log.info("Room topics ready after {} ms; their partitions are consumed again",
                            TimeUnit.NANOSECONDS.toMillis(now - blockedSince));
                }
                blockedSince = 0;
                reportedSlowTopics = false;
            } else if (blockedSince == 0) {
                blockedSince = now;
            } else if (!reportedSlowTopics && now - blockedSince > SLOW_TOPICS.toNanos()) {
                reportedSlowTopics = true;
                log.info("Waiting for room topics to be created ({} rooms, e.g. {}); their partitions paused",
                        pending.size(), pending.iterator().next());
            }
            return pending;
        }

        /**
         * Stops fetching the partitions held back for room topics (all of them while the publish
         * circuit breaker refuses), so that the open windows cannot grow without bound.
         */
        private void pauseWhileBlocked() {
            Set<TopicPartition> assigned = consumer.assignment();
            Set<TopicPartition> pause = breakerRefused ? assigned : held;
            Set<TopicPartition> paused = consumer.paused();
            if (!paused.containsAll(pause)) {
                consumer.pause(pause);
            }
            if (!pause.containsAll(paused)) {
                Set<TopicPartition> resume = new java.util.HashSet<>(paused);
                resume.removeAll(pause);
                consumer.resume(resume);
            }
        }

        /**
         * Forgets every uncommitted window and rewinds each partition still owned (except
         * {@code gone}) to its first uncommitted record, so that those records are consumed again.
         */
        private void dropPending(Collection<TopicPartition> gone) {
            windows.rollback();
            Set<TopicPartition> assigned = consumer.assignment();
            rewindTo.forEach((partition, offset) -> {
                if (assigned.contains(partition) && !gone.contains(partition)) {
                    consumer.seek(partition, offset);
                }
            });
            consumed.clear();
            rewindTo.clear();
            uncommittedRooms.clear();
            held = Set.of();
            blockedSince = 0;
            reportedSlowTopics = false;
        }

        /**
         * Evicts the rooms idle for {@code roomIdle} (no window, no viewers) from memory and deletes
         * their topics. Their state stays on the state topic, written once more without a latest
         * batch (seq -1: the seqs go with the topic); a room that comes back reads it back and gets
         * a fresh topic whose seqs start at 0. Only when everything consumed is committed.
         */
        private void sweepIdle(long now) {
            if (now - lastSweep < sweepMillis) {
                return;
            }
            lastSweep = now;
            List<RoomState> idle = new ArrayList<>();
            for (RoomState state : windows.idle(now - roomIdleMillis)) {
                Integer viewers = viewerCounts.viewers(state.room(), now);
                if (viewers != null && viewers > 0) {
                    windows.touch(state.room(), now);
                } else {
                    idle.add(state);
                }
            }
            if (idle.isEmpty()) {
                return;
            }
            List<RoomState> withTopic = idle.stream()
                    .filter(state -> state.seq() >= 0 || roomTopics.exists(state.room())).toList();
            if (!withTopic.isEmpty() && !forgetSeqs(withTopic)) {
                return; // next sweep
            }
            List<String> rooms = idle.stream().map(RoomState::room).toList();
            windows.evict(rooms);
            rooms.forEach(publishedViewers::remove);
            for (RoomState state : withTopic) {
                roomTopics.delete(state.room());
            }
            log.info("Evicted {} rooms idle for {} s from memory ({} topics to delete)", rooms.size(),
                    roomIdleMillis / 1000, withTopic.size());
        }

        /** Writes the idle rooms' state without a latest batch, in a transaction of its own. */
        private boolean forgetSeqs(List<RoomState> rooms) {
            try {
                producer.beginTransaction();
                for (RoomState state : rooms) {
                    producer.send(new ProducerRecord<>(Topics.STATE, state.room(), codec.encodeState(state.withSeq(-1))));
                }
                producer.commitTransaction();
                return true;
            } catch (ProducerFencedException | OutOfOrderSequenceException | AuthorizationException
                     | UnsupportedVersionException e) {
                abandon();
                throw e;
            } catch (KafkaException e) {
                log.warn("Could not write the state of {} idle rooms; trying again later", rooms.size(), e);
                try {
                    producer.abortTransaction();
                } catch (KafkaException abortFailure) {
                    abandon();
                    throw abortFailure;
                }
                return false;
            }
        }

        /** Records behind on this aggregator's ingress partitions (at most once a second: cheap anyway). */
        private void measureLag(long now) {
            if (now - lastLag < 1000) {
                return;
            }
            lastLag = now;
            long lag = 0;
            try {
                for (TopicPartition partition : consumer.assignment()) {
                    lag += consumer.currentLag(partition).orElse(0);
                }
            } catch (RuntimeException e) {
                return; // a mock consumer, or no position yet
            }
            metrics.lag(lag);
        }

        /** The session ends: forget what is uncommitted (the consumer is about to be closed). */
        private void abandon() {
            windows.rollback();
            consumed.clear();
            rewindTo.clear();
            uncommittedRooms.clear();
            held = Set.of();
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            log.info("Partitions revoked: {}; publishing pending windows", partitions);
            if (!tick()) {
                dropPending(partitions);
            }
            forget(partitions);
        }

        /** Frees the memory of rooms that another aggregator owns now (best effort). */
        private void forget(Collection<TopicPartition> partitions) {
            try {
                windows.forget(ownedBy(partitions));
            } catch (KafkaException e) {
                log.debug("Could not tell which rooms left with {}: {}", partitions, e.toString());
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            log.warn("Partitions lost: {}; dropping pending windows, the new owner consumes them again", partitions);
            dropPending(partitions);
            forget(partitions);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (partitions.isEmpty()) {
                return;
            }
            log.info("Partitions assigned: {}; restoring their rooms' state", partitions);
            // Nothing of these partitions is in a window yet: their rooms start from the state
            // committed with their offsets. If it cannot be read, the session fails and starts again.
            // First the committed offsets: a read_committed consumer asks for stable ones, so this
            // waits while the previous owner's last transaction is still being completed; only then
            // is the state topic read, so the state read matches the offsets processing starts from.
            consumer.committed(new java.util.HashSet<>(partitions));
            int restored = 0;
            for (RoomState state : states.load(ownedBy(partitions))) {
                windows.restore(state);
                restored++;
            }
            log.info("Restored {} rooms", restored);
        }

        /** Rooms whose ingress records land on one of {@code partitions} (the producer's default partitioner). */
        private Predicate<String> ownedBy(Collection<TopicPartition> partitions) {
            List<org.apache.kafka.common.PartitionInfo> infos = consumer.partitionsFor(Topics.INGRESS);
            int count = infos == null ? 0 : infos.size();
            if (count == 0) {
                return room -> true;
            }
            Set<Integer> numbers = new java.util.HashSet<>();
            for (TopicPartition partition : partitions) {
                if (partition.topic().equals(Topics.INGRESS)) {
                    numbers.add(partition.partition());
                }
            }
            return room -> numbers.contains(
                    Utils.toPositive(Utils.murmur2(room.getBytes(StandardCharsets.UTF_8))) % count);
        }
    }
}
