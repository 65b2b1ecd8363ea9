package dev.danmaku.gateway.room.kafka;

import dev.danmaku.gateway.LogKeys;
import dev.danmaku.gateway.room.RoomFeed;
import dev.danmaku.protocol.bus.Topics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult.ListOffsetsResultInfo;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Disposable;

/**
 * The node's one Kafka consumer of room topics ({@code danmaku.room.<room>}, one partition each),
 * on its own thread, assigned (no group, no commits) exactly the rooms being followed.
 *
 * <p>{@link #follow} and {@code dispose()} only queue a command and wake the thread; the thread
 * applies commands between polls. A new room is resolved with the admin client (asynchronously:
 * earliest, latest committed and time-based offsets), then read from a recent offset (the warm-up
 * of the room's ring) and reported ready once it reaches the end offset it resolved. A room whose
 * topic does not exist yet is ready at once (seq -1) and is checked again every
 * {@code topicCheckInterval} until the topic appears, then read from its beginning; it is not
 * assigned meanwhile, so the consumer does not log about a missing topic.
 *
 * <p>Room topics follow live rooms: the aggregator deletes the topic of a room idle for long and
 * creates a fresh one when the room comes back, whose offsets (the seqs) start again at 0. The
 * followed rooms' topics are therefore described again every ten {@code topicCheckInterval}s: a
 * topic that is gone sends its room back to waiting, one that was recreated (another topic id)
 * is read again from its beginning; either way the listener gets a new {@code onStart}. A
 * recreation noticed first by the consumer (its position reset to an earlier offset) does the same.
 */
public final class KafkaRoomFeed implements RoomFeed, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(KafkaRoomFeed.class);
    private static final Duration IDLE_PARK = Duration.ofMillis(200);
    private static final Duration POLL_TIMEOUT = Duration.ofMillis(500);
    private static final Duration MAX_RETRY = Duration.ofSeconds(10);
    private static final long LOOKBACK = 16;

    private final Admin admin;
    private final Consumer<byte[], byte[]> consumer;
    private final Clock clock;
    private final Settings settings;
    private final ConcurrentLinkedQueue<Runnable> commands = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile Set<String> assignedRooms = Set.of();
    private final LongAdder batchesRead = new LongAdder();
    private volatile long lag;

    // feed thread only
    private final Map<String, Followed> followed = new HashMap<>();
    private long nextTopicCheck;
    private boolean topicCheckInFlight;
    private long nextAssignedCheck;
    private boolean assignedCheckInFlight;

    /**
     * @param ringMaxBatches     how many recent records a new room is warmed up with, at most
     * @param ringMaxAge         how old those records may be, at most
     * @param topicCheckInterval how often rooms without a topic are checked again (and resolve retries)
     */
    public record Settings(int ringMaxBatches, Duration ringMaxAge, Duration topicCheckInterval) {
    }

    /**
     * @param consumerFactory makes the consumer (configured with read_committed, no group, no
     *                        auto commit, no topic auto-creation); it is used by the feed's thread only
     */
    public KafkaRoomFeed(Admin admin, Supplier<Consumer<byte[], byte[]>> consumerFactory, Clock clock,
                         Settings settings, String threadName) {
        this.admin = admin;
        this.consumer = consumerFactory.get();
        this.clock = clock;
        this.settings = settings;
        this.thread = new Thread(this::run, threadName);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    @Override
    public Disposable follow(String room, Listener listener) {
        Handle handle = new Handle(room, listener);
        submit(() -> startFollowing(handle));
        return handle;
    }

    /** The rooms whose topics the consumer is assigned now (for metrics and tests). */
    public Set<String> assignedRooms() {
        return assignedRooms;
    }

    /** Records read from room topics so far (for metrics). */
    public long batchesRead() {
        return batchesRead.sum();
    }

    /**
     * Committed records not yet read, summed over the assigned room topics, as of the last poll
     * (for metrics). Partitions whose lag the consumer does not know yet count as 0.
     */
    public long lag() {
        return lag;
    }

    /** Stops the thread and closes the consumer; waits a few seconds at most. */
    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            log.warn("Room feed thread did not stop within 5 s");
        }
    }

    private void submit(Runnable command) {
        commands.add(command);
        consumer.wakeup(); // thread-safe: ends a poll in progress so that the command applies promptly
        LockSupport.unpark(thread);
    }

    // ---- the feed thread ----

    private void run() {
        try {
            while (running) {
                try {
                    step();
                } catch (WakeupException e) {
                    // a command arrived: applied at the top of the next step
                } catch (RuntimeException e) {
                    log.warn("Room feed error, continuing", e);
                    LockSupport.parkNanos(IDLE_PARK.toNanos());
                }
            }
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                log.debug("Closing the room feed's consumer failed", e);
            }
        }
    }

    private void step() {
        for (Runnable command; (command = commands.poll()) != null; ) {
            command.run();
        }
        long now = System.nanoTime();
        for (Followed f : followed.values()) {
            if (f.state == State.RESOLVING && !f.inFlight && now - f.nextAttempt >= 0) {
                resolve(f);
            }
        }
        checkWaitingTopics(now);
        checkAssignedTopics(now);
        if (!running) {
            return;
        }
        if (consumer.assignment().isEmpty()) {
            lag = 0;
            // poll() refuses to run without an assignment; submit() unparks
            if (commands.isEmpty()) {
                LockSupport.parkNanos(IDLE_PARK.toNanos());
            }
            return;
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
        batchesRead.add(records.count());
        dispatch(records);
        lag = currentLag();
    }

    /** The consumer's lag from what it fetched (read_committed: up to the last stable offset), no round trip. */
    private long currentLag() {
        long total = 0;
        for (TopicPartition tp : consumer.assignment()) {
            OptionalLong partitionLag = consumer.currentLag(tp);
            if (partitionLag.isPresent()) {
                total += partitionLag.getAsLong();
            }
        }
        return total;
    }

    private void startFollowing(Handle handle) {
        if (handle.disposed) {
            return;
        }
        Followed previous = followed.put(handle.room, new Followed(handle));
        if (previous != null && previous.state == State.ASSIGNED) {
            reassign(); // the new listener starts over with its own warm-up
        }
    }

    private void stopFollowing(Handle handle) {
        Followed current = followed.get(handle.room);
        if (current != null && current.handle == handle) {
            followed.remove(handle.room);
            if (current.state == State.ASSIGNED) {
                reassign();
            }
        }
    }

    /**
     * Asks the admin client whether the room's topic exists (listing the offsets of a missing
     * topic would log errors), then where to start reading it and where its end is now.
     */
    private void resolve(Followed f) {
        f.inFlight = true;
        String topic = f.partition.topic();
        admin.describeTopics(List.of(topic)).topicNameValues().get(topic).whenComplete((description, error) -> {
            if (error != null) {
                submit(() -> resolveFailed(f, unwrap(error)));
            } else {
                listOffsets(f, description.topicId()); // admin calls are thread-safe: from the admin thread, without a hop
            }
        });
    }

    private void listOffsets(Followed f, @Nullable Uuid topicId) {
        TopicPartition tp = f.partition;
        ListOffsetsOptions committed = new ListOffsetsOptions(IsolationLevel.READ_COMMITTED);
        long from = clock.millis() - settings.ringMaxAge().toMillis();
        KafkaFuture<ListOffsetsResultInfo> earliest =
                admin.listOffsets(Map.of(tp, OffsetSpec.earliest()), committed).partitionResult(tp);
        KafkaFuture<ListOffsetsResultInfo> latest =
                admin.listOffsets(Map.of(tp, OffsetSpec.latest()), committed).partitionResult(tp);
        KafkaFuture<ListOffsetsResultInfo> recent =
                admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(from)), committed).partitionResult(tp);
        KafkaFuture.allOf(earliest, latest, recent).whenComplete((ignored, error) -> submit(() -> {
            if (error == null) {
                f.topicId = topicId;
                resolved(f, offsetOf(earliest), offsetOf(latest), offsetOf(recent));
            } else {
                resolveFailed(f, unwrap(error));
            }
        }));
    }

    private void resolved(Followed f, long earliest, long latest, long recent) {
        f.inFlight = false;
        if (!isCurrent(f)) {
            return;
        }
        // warm the ring with what it may hold: the last ringMaxBatches records, none older than
        // ringMaxAge (recent is -1 when no record is that young)
        long start = Math.min(latest, Math.max(Math.max(earliest, latest - settings.ringMaxBatches()),
                recent < 0 ? latest : recent));
        // and at least the last few records, so that the room knows its latest batch's seq even
        // when every batch is too old to keep (each batch is followed by a transaction marker)
        start = Math.min(start, Math.max(earliest, latest - LOOKBACK));
        f.state = State.ASSIGNED;
        f.target = latest;
        long from = start;
        f.position = from;
        reassign();
        consumer.seek(f.partition, from);
        notify(f, l -> l.onStart(from));
        if (from >= latest) {
            f.ready = true;
            notify(f, l -> l.onReady(from));
        }
    }

    private void resolveFailed(Followed f, Throwable error) {
        f.inFlight = false;
        if (!isCurrent(f)) {
            return;
        }
        if (error instanceof UnknownTopicOrPartitionException) {
            // no batch yet: seq -1 now, read from offset 0 once the topic appears
            f.state = State.WAITING_TOPIC;
            f.ready = true;
            notify(f, l -> l.onStart(0));
            notify(f, l -> l.onReady(0));
            return;
        }
        f.attempts++;
        long delay = Math.min(settings.topicCheckInterval().toNanos() << Math.min(f.attempts, 4),
                MAX_RETRY.toNanos());
        f.nextAttempt = System.nanoTime() + delay;
        if (f.attempts == 1) {
            log.atWarn().addKeyValue(LogKeys.ROOM, f.handle.room)
                    .log("Cannot resolve the offsets of room {} ({}); retrying", f.handle.room, error.toString());
        }
    }

    private void checkWaitingTopics(long now) {
        if (topicCheckInFlight || now - nextTopicCheck < 0) {
            return;
        }
        List<String> waiting = new ArrayList<>();
        for (Followed f : followed.values()) {
            if (f.state == State.WAITING_TOPIC) {
                waiting.add(f.partition.topic());
            }
        }
        if (waiting.isEmpty()) {
            return;
        }
        topicCheckInFlight = true;
        nextTopicCheck = now + settings.topicCheckInterval().toNanos();
        Map<String, KafkaFuture<TopicDescription>> results = admin.describeTopics(waiting).topicNameValues();
        KafkaFuture.allOf(results.values().toArray(KafkaFuture[]::new)).whenComplete((ignored, error) ->
                submit(() -> topicsChecked(results)));
    }

    private void topicsChecked(Map<String, KafkaFuture<TopicDescription>> results) {
        topicCheckInFlight = false;
        boolean changed = false;
        for (Map.Entry<String, KafkaFuture<TopicDescription>> result : results.entrySet()) {
            KafkaFuture<TopicDescription> future = result.getValue();
            if (future.isCompletedExceptionally()) {
                continue;
            }
            Followed f = followed.get(Topics.roomOf(result.getKey()));
            if (f != null && f.state == State.WAITING_TOPIC) {
                f.state = State.ASSIGNED;
                f.position = 0;
                f.topicId = describedId(future);
                changed = true;
            }
        }
        if (changed) {
            Set<TopicPartition> before = consumer.assignment();
            reassign();
            for (TopicPartition tp : consumer.assignment()) {
                if (!before.contains(tp)) {
                    consumer.seek(tp, 0); // the listener started at 0 when the topic was missing
                }
            }
        }
    }

    /**
     * Describes the assigned rooms' topics again (every ten topic checks): a room whose topic was
     * deleted (idle) or recreated (the room came back) starts over.
     */
    private void checkAssignedTopics(long now) {
        if (assignedCheckInFlight || now - nextAssignedCheck < 0) {
            return;
        }
        nextAssignedCheck = now + settings.topicCheckInterval().toNanos() * 10;
        List<String> assigned = new ArrayList<>();
        for (Followed f : followed.values()) {
            if (f.state == State.ASSIGNED) {
                assigned.add(f.partition.topic());
            }
        }
        if (assigned.isEmpty()) {
            return;
        }
        assignedCheckInFlight = true;
        Map<String, KafkaFuture<TopicDescription>> results = admin.describeTopics(assigned).topicNameValues();
        KafkaFuture.allOf(results.values().toArray(KafkaFuture[]::new)).whenComplete((ignored, error) ->
                submit(() -> assignedChecked(results)));
    }

    private void assignedChecked(Map<String, KafkaFuture<TopicDescription>> results) {
        assignedCheckInFlight = false;
        boolean unassign = false;
        for (Map.Entry<String, KafkaFuture<TopicDescription>> result : results.entrySet()) {
            Followed f = followed.get(Topics.roomOf(result.getKey()));
            if (f == null || f.state != State.ASSIGNED) {
                continue;
            }
            KafkaFuture<TopicDescription> future = result.getValue();
            if (future.isCompletedExceptionally()) {
                if (failure(future) instanceof UnknownTopicOrPartitionException) {
                    // deleted (the room was idle): wait for a fresh topic, read from its start
                    log.atInfo().addKeyValue("room", f.handle.room)
                            .log("The topic of room {} is gone; waiting for a new one", f.handle.room);
                    f.state = State.WAITING_TOPIC;
                    f.topicId = null;
                    unassign = true;
                    restart(f, 0);
                }
                continue;
            }
            Uuid id = describedId(future);
            if (f.topicId != null && id != null && !id.equals(f.topicId)) {
                log.atInfo().addKeyValue("room", f.handle.room)
                        .log("The topic of room {} was recreated; reading it from its start", f.handle.room);
                f.topicId = id;
                consumer.seek(f.partition, 0);
                restart(f, 0);
            } else if (f.topicId == null) {
                f.topicId = id;
            }
        }
        if (unassign) {
            reassign();
        }
    }

    /** Reading the room starts over at {@code offset} (a new topic): the listener forgets what it had. */
    private void restart(Followed f, long offset) {
        f.position = offset;
        notify(f, l -> l.onStart(offset));
    }

    private void dispatch(ConsumerRecords<byte[], byte[]> records) {
        for (Followed f : followed.values()) {
            if (f.state != State.ASSIGNED) {
                continue;
            }
            List<ConsumerRecord<byte[], byte[]>> partitionRecords = records.records(f.partition);
            if (!partitionRecords.isEmpty() && partitionRecords.get(0).offset() < f.position) {
                // the consumer's position was reset to an earlier offset: the topic was recreated
                log.atInfo().addKeyValue("room", f.handle.room)
                        .log("Room {} starts over at offset {}: its topic was recreated", f.handle.room,
                                partitionRecords.get(0).offset());
                f.topicId = null; // learnt again at the next check
                restart(f, partitionRecords.get(0).offset());
            }
            List<FeedRecord> batch = new ArrayList<>(partitionRecords.size());
            for (ConsumerRecord<byte[], byte[]> record : partitionRecords) {
                if (record.value() != null) {
                    batch.add(new FeedRecord(record.offset(), record.timestamp(), record.value()));
                }
            }
            Long position = position(f.partition);
            long next = position != null ? position
                    : partitionRecords.isEmpty() ? f.position : partitionRecords.get(partitionRecords.size() - 1).offset() + 1;
            if (!batch.isEmpty() || next > f.position) {
                f.position = next;
                notify(f, l -> l.onRecords(batch, next));
            }
            if (!f.ready && next >= f.target) {
                f.ready = true;
                notify(f, l -> l.onReady(next));
            }
        }
    }

    /** The consumer's position, if it knows it without a network round trip. */
    private @Nullable Long position(TopicPartition tp) {
        try {
            return consumer.position(tp, Duration.ZERO);
        } catch (TimeoutException | WakeupException e) {
            return null; // a wakeup is only a hint to look at the commands: the loop does so anyway
        }
    }

    private void reassign() {
        Set<TopicPartition> wanted = new HashSet<>();
        Set<String> rooms = new HashSet<>();
        for (Followed f : followed.values()) {
            if (f.state == State.ASSIGNED) {
                wanted.add(f.partition);
                rooms.add(f.handle.room);
            }
        }
        consumer.assign(wanted);
        assignedRooms = Set.copyOf(rooms);
    }

    private boolean isCurrent(Followed f) {
        return followed.get(f.handle.room) == f;
    }

    private void notify(Followed f, java.util.function.Consumer<Listener> call) {
        try {
            call.accept(f.handle.listener);
        } catch (RuntimeException e) {
            log.atWarn().addKeyValue(LogKeys.ROOM, f.handle.room).setCause(e).log("Room {} listener failed", f.handle.room);
        }
    }

    private static @Nullable Uuid describedId(KafkaFuture<TopicDescription> done) {
        try {
            return done.get().topicId(); // complete
        } catch (InterruptedException | ExecutionException e) {
            return null;
        }
    }

    private static Throwable failure(KafkaFuture<?> done) {
        try {
            done.get();
            return new IllegalStateException("not failed");
        } catch (ExecutionException e) {
            return unwrap(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e;
        }
    }

    private static long offsetOf(KafkaFuture<ListOffsetsResultInfo> done) {
        try {
            return done.get().offset(); // complete: allOf succeeded
        } catch (InterruptedException | ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private enum State { RESOLVING, WAITING_TOPIC, ASSIGNED }

    /** A room being followed, as the feed thread tracks it. */
    private static final class Followed {
        final Handle handle;
        final TopicPartition partition;
        State state = State.RESOLVING;
        boolean inFlight;
        boolean ready;
        int attempts;
        long nextAttempt = System.nanoTime();
        long target;
        long position;
        /** The id of the topic being read (a recreated topic has another), once known. */
        @Nullable Uuid topicId;

        Followed(Handle handle) {
            this.handle = handle;
            this.partition = new TopicPartition(Topics.room(handle.room), 0);
        }
    }

    private final class Handle implements Disposable {
        final String room;
        final Listener listener;
        volatile boolean disposed;

        Handle(String room, Listener listener) {
            this.room = room;
            this.listener = listener;
        }

        @Override
        public void dispose() {
            if (!disposed) {
                disposed = true;
                submit(() -> stopFollowing(this));
            }
        }

        @Override
        public boolean isDisposed() {
            return disposed;
        }
    }
}
