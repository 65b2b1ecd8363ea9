package dev.danmaku.aggregator.batch;

import dev.danmaku.aggregator.moderation.BlockedWords;
import dev.danmaku.aggregator.ratelimit.CommentLimits;
import dev.danmaku.protocol.ClientFrame;
import dev.danmaku.protocol.Gift;
import dev.danmaku.protocol.Role;
import dev.danmaku.protocol.ServerFrame.Batch;
import dev.danmaku.protocol.ServerFrame.BatchComment;
import dev.danmaku.protocol.ServerFrame.GiftEntry;
import dev.danmaku.protocol.ServerFrame.GiftTotal;
import dev.danmaku.protocol.ServerFrame.Likes;
import dev.danmaku.protocol.ServerFrame.TopEntry;
import dev.danmaku.protocol.ServerFrame.Totals;
import dev.danmaku.protocol.User;
import dev.danmaku.protocol.bus.Ingress;
import dev.danmaku.protocol.bus.RoomState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open windows of the rooms one aggregator owns, and each room's state ({@link RoomState}:
 * like total, gift totals, gifters, the ids already counted, mutes, recent comments).
 *
 * <p>{@link #add} applies the room's rules to a record (id de-duplication, mutes, blocked words,
 * duplicate text, per-user limits: see {@link RoomPolicy}) and puts it into its room's open window;
 * {@link #drain} closes every open window into one {@link Batch} per room (seq {@code -1},
 * {@code ts} = the drain time; the density cap applied by priority; gifts merged per user and
 * gift with their combo; totals when they changed) and computes each drained room's new
 * {@link RoomState} ({@link #drainedStates()}), to be written in the same transaction.
 *
 * <p>Drains are transactional, to match the Kafka transaction that publishes them: the new
 * states become the rooms' state only on {@link #commit()}. {@link #rollback()} forgets them
 * and every open window, because the loop then rewinds the consumer and those records arrive
 * again. Between a drain and its commit or rollback, {@link #add} and {@link #drain} are refused.
 *
 * <p>Not thread-safe: it belongs to the loop thread. Memory per room is bounded by the policy.
 */
public final class RoomWindows {

    private static final Logger log = LoggerFactory.getLogger(RoomWindows.class);
    private static final int MAX_RECENT_TEXTS = 100_000;

    /** What {@link #add} did with a record. */
    public enum Outcome {
        /** It is now part of its room's open window (a comment may still lose to the density cap). */
        ADDED,
        /** A comment or gift whose id the room already counted (a client's retry): left out. */
        DUPLICATE,
        /** A comment beyond the window's memory bound: left out and counted in the batch's {@code dropped}. */
        DROPPED,
        /** A comment over its sender's per-room rate (or slow mode): left out. */
        RATE_LIMITED,
        /** The same user's same text in the room shortly before: left out. */
        REPEATED,
        /** A comment with a blocked word: left out. */
        BLOCKED,
        /** A comment from a user muted in the room: left out. */
        MUTED,
        /** A kind of frame that is not aggregated (join, leave): left out. */
        IGNORED
    }

    private final RoomPolicy policy;
    private final Map<String, Long> giftValues = new HashMap<>();
    private final BlockedWords blockedWords;
    private final CommentLimits limits;
    /** Committed state per room. */
    private final Map<String, RoomState> rooms = new HashMap<>();
    /** Per room: the running gift streaks, by user and gift (in memory only: cosmetic). */
    private final Map<String, Map<String, Streak>> streaks = new HashMap<>();
    /** Per room and user: when they last sent a gift (in memory only: a priority hint). */
    private final Map<String, Map<String, Long>> lastGift = new HashMap<>();
    /** Room, user and normalised text of recent comments, with their time (duplicate suppression). */
    private final Map<String, Long> recentTexts = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
            return size() > MAX_RECENT_TEXTS;
        }
    };
    /** Rooms with an open window, in the order their window opened. */
    private final Map<String, Window> open = new LinkedHashMap<>();
    private final List<RoomState> uncommitted = new ArrayList<>();
    private final List<Map.Entry<String, Map<String, Streak>>> uncommittedStreaks = new ArrayList<>();
    private final Map<Outcome, Long> outcomes = new EnumMap<>(Outcome.class);
    /** Per room in memory: when it was last active (a window drained, viewers seen), epoch millis. */
    private final Map<String, Long> lastActive = new HashMap<>();
    /**
     * Rooms evicted from memory after being idle: their committed state is on the state topic and
     * must be read back ({@link #restore}) before their next record is added. Names only.
     */
    private final Set<String> dormant = new java.util.HashSet<>();
    private boolean drained;

    public RoomWindows(RoomPolicy policy) {
        this.policy = policy;
        for (Gift gift : policy.gifts()) {
            giftValues.put(gift.id(), gift.value());
        }
        this.blockedWords = new BlockedWords(policy.blockedWords());
        this.limits = new CommentLimits(policy.commentBurst(), policy.commentInterval(), policy.slowMode());
    }

    /** Adds a record to its room's open window, opening one if needed. */
    public Outcome add(Ingress ingress) {
        requireNothingUncommitted();
        if (dormant.contains(ingress.room())) {
            throw new IllegalStateException("room " + ingress.room() + " was evicted while idle: restore its state first");
        }
        Outcome outcome;
        if (ingress.frame() instanceof ClientFrame.Comment comment) {
            outcome = addComment(ingress, comment);
        } else if (ingress.frame() instanceof ClientFrame.Like like) {
            window(like.room()).likes += like.count();
            outcome = Outcome.ADDED;
        } else if (ingress.frame() instanceof ClientFrame.Gift gift) {
            outcome = addGift(ingress, gift);
        } else if (ingress.frame() instanceof ClientFrame.SlowMode slow) {
            // the gateway let only the room's streamer (or an admin) send it; it applies from here on
            window(slow.room()).slowMode = slow.seconds();
            outcome = Outcome.ADDED;
        } else if (ingress.frame() instanceof ClientFrame.Mute mute) {
            // the gateway let only the room's streamer and moderators send it
            window(mute.room()).mutes.put(mute.user(), ingress.ts() + mute.seconds() * 1000L);
            outcome = Outcome.ADDED;
        } else {
            outcome = Outcome.IGNORED;
        }
        outcomes.merge(outcome, 1L, Long::sum);
        return outcome;
    }

    /** How many records had each outcome since this instance was created. */
    public Map<Outcome, Long> outcomes() {
        return Map.copyOf(outcomes);
    }

    /** True when no room has an open window. */
    public boolean isEmpty() {
        return open.isEmpty();
    }

    /** The rooms that have an open window (a copy). */
    public Set<String> rooms() {
        return Set.copyOf(open.keySet());
    }

    /** The committed state of a room (empty if it has none). */
    public RoomState state(String room) {
        RoomState state = rooms.get(room);
        return state == null ? RoomState.empty(room) : state;
    }

    /**
     * Replaces a room's committed state with one read back from the state topic (a partition was
     * assigned to this aggregator). Only between windows of that room.
     */
    public void restore(RoomState state) {
        requireNothingUncommitted();
        rooms.put(state.room(), state);
        lastActive.put(state.room(), state.ts());
        dormant.remove(state.room());
        Map<String, Long> gifts = lastGift.computeIfAbsent(state.room(), r -> new HashMap<>());
        // streaks and gift priorities are not persisted; start them afresh
        streaks.remove(state.room());
        gifts.clear();
    }

    /** Forgets the state of the rooms that match (their partition went to another aggregator). */
    public void forget(Predicate<String> room) {
        rooms.keySet().removeIf(room);
        streaks.keySet().removeIf(room);
        lastGift.keySet().removeIf(room);
        lastActive.keySet().removeIf(room);
        dormant.removeIf(room);
    }

    /** How many rooms' state is held in memory. */
    public int roomsInMemory() {
        return rooms.size();
    }

    /** True when the room was evicted while idle: read its state back ({@link #restore}) before adding to it. */
    public boolean isDormant(String room) {
        return dormant.contains(room);
    }

    /** A dormant room whose state was looked for and not found starts empty. */
    public void wake(String room) {
        dormant.remove(room);
    }

    /** The room is active now (it has viewers): it is not idle. Only rooms held in memory. */
    public void touch(String room, long now) {
        lastActive.computeIfPresent(room, (r, before) -> Math.max(before, now));
    }

    /**
     * The rooms held in memory, without an open window, not active since {@code idleSince}
     * (epoch millis): candidates for {@link #evict}.
     */
    public List<RoomState> idle(long idleSince) {
        List<RoomState> idle = new ArrayList<>();
        rooms.forEach((room, state) -> {
            if (!open.containsKey(room) && lastActive.getOrDefault(room, 0L) < idleSince) {
                idle.add(state);
            }
        });
        return idle;
    }

    /**
     * Drops idle rooms from memory (their state stays on the state topic; they become dormant).
     * Only between drains, and only for rooms without an open window.
     */
    public void evict(java.util.Collection<String> idleRooms) {
        requireNothingUncommitted();
        for (String room : idleRooms) {
            if (open.containsKey(room)) {
                continue;
            }
            rooms.remove(room);
            streaks.remove(room);
            lastGift.remove(room);
            lastActive.remove(room);
            dormant.add(room);
        }
    }

    /**
     * Closes every open window: one batch per room that has something to show, in the order the
     * windows opened; comments in arrival order. Call {@link #commit()} once the batches and
     * {@link #drainedStates()} are published, {@link #rollback()} if they are not.
     *
     * @param now the batch's {@code ts}, epoch millis
     */
    public List<Batch> drain(long now) {
        return drain(now, room -> true);
    }

    /**
     * Closes the open windows of the rooms that match, as {@link #drain(long)}; the others stay
     * open (their records cannot be committed yet: a room topic of their partition is pending)
     * and go on collecting until a later drain. {@link #rollback()} forgets those too.
     *
     * @param now     the batch's {@code ts}, epoch millis
     * @param include the rooms whose windows close now
     */
    public List<Batch> drain(long now, Predicate<String> include) {
        requireNothingUncommitted();
        List<Batch> batches = new ArrayList<>(open.size());
        for (java.util.Iterator<Map.Entry<String, Window>> it = open.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Window> entry = it.next();
            String room = entry.getKey();
            if (!include.test(room)) {
                continue;
            }
            it.remove();
            drained = true;
            Window window = entry.getValue();
            RoomState before = state(room);

            List<BatchComment> comments = selectByPriority(window);
            int dropped = window.dropped + window.candidates.size() - comments.size();

            long likeTotal = before.likes() + window.likes;
            @Nullable Likes likes = window.likes == 0 ? null : new Likes(window.likes, likeTotal);

            Map<String, Streak> roomStreaks = new HashMap<>(streaks.getOrDefault(room, Map.of()));
            List<GiftEntry> gifts = new ArrayList<>(window.gifts.size());
            Map<String, GiftTotal> giftTotals = new LinkedHashMap<>(before.gifts());
            Map<String, Long> gifterValues = new LinkedHashMap<>();
            Map<String, User> gifterUsers = new HashMap<>();
            for (TopEntry entryBefore : before.gifters()) {
                gifterValues.put(entryBefore.user().id(), entryBefore.value());
                gifterUsers.put(entryBefore.user().id(), entryBefore.user());
            }
            for (GiftSends sends : window.gifts.values()) {
                long value = sends.count * giftValues.getOrDefault(sends.gift, 0L);
                String key = sends.user.id() + '\u0000' + sends.gift;
                Streak streak = roomStreaks.get(key);
                long combo = streak != null && sends.firstTs - streak.lastTs <= policy.comboTimeout().toMillis()
                        ? streak.combo + sends.count : sends.count;
                roomStreaks.put(key, new Streak(combo, sends.lastTs));
                gifts.add(new GiftEntry(sends.user, sends.gift, sends.count, value, (int) Math.min(combo, Integer.MAX_VALUE)));
                giftTotals.merge(sends.gift, new GiftTotal(sends.count, value),
                        (a, b) -> new GiftTotal(a.count() + b.count(), a.value() + b.value()));
                gifterValues.merge(sends.user.id(), value, Long::sum);
                gifterUsers.put(sends.user.id(), sends.user);
            }
            List<TopEntry> gifters = gifterValues.entrySet().stream()
                    .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                    .limit(policy.gifters())
                    .map(e -> new TopEntry(gifterUsers.get(e.getKey()), e.getValue()))
                    .toList();

            Map<String, Long> giftIds = bounded(before.giftIds(), window.giftIds, policy.giftIdsPerRoom(), now);
            Map<String, Long> commentIds = new LinkedHashMap<>();
            for (BatchComment comment : comments) {
                commentIds.put(comment.id(), comment.ts());
            }
            commentIds = bounded(before.commentIds(), commentIds, policy.recentCommentIds(), now);

            Map<String, Long> mutes = new LinkedHashMap<>();
            before.mutes().forEach((user, until) -> {
                if (until > now) {
                    mutes.put(user, until);
                }
            });
            mutes.putAll(window.mutes);

            List<BatchComment> recent = new ArrayList<>(before.recent());
            recent.addAll(comments);
            if (recent.size() > policy.recentComments()) {
                recent = recent.subList(recent.size() - policy.recentComments(), recent.size());
            }

            RoomState after = new RoomState(room, before.seq(), now, likeTotal, Collections.unmodifiableMap(giftTotals), gifters,
                    Collections.unmodifiableMap(giftIds), Collections.unmodifiableMap(commentIds),
                    Collections.unmodifiableMap(mutes), List.copyOf(recent),
                    window.slowMode != null ? window.slowMode : before.slowMode());
            uncommitted.add(after);
            uncommittedStreaks.add(Map.entry(room, roomStreaks));

            @Nullable Totals totals = gifts.isEmpty() ? null : new Totals(after.gifts(), after.top());
            if (!comments.isEmpty() || likes != null || !gifts.isEmpty() || dropped > 0) {
                batches.add(new Batch(room, -1, now, comments.isEmpty() ? null : comments, likes,
                        gifts.isEmpty() ? null : List.copyOf(gifts), null, dropped == 0 ? null : dropped, totals));
            }
        }
        return batches;
    }

    /** The new state of every room of the last drain (also of rooms whose window made no batch). */
    public List<RoomState> drainedStates() {
        return List.copyOf(uncommitted);
    }

    /**
     * The batch of {@code room} of the last drain got {@code seq} (its offset): its state includes it.
     * Between {@link #drain} and {@link #commit()}.
     */
    public void published(String room, long seq) {
        uncommitted.replaceAll(state -> state.room().equals(room) ? state.withSeq(seq) : state);
    }

    /** The batches of the last drain were published: their states become the rooms' state. */
    public void commit() {
        for (RoomState state : uncommitted) {
            rooms.put(state.room(), state);
            lastActive.merge(state.room(), state.ts(), Math::max);
        }
        for (Map.Entry<String, Map<String, Streak>> entry : uncommittedStreaks) {
            streaks.put(entry.getKey(), entry.getValue());
        }
        uncommitted.clear();
        uncommittedStreaks.clear();
        drained = false;
    }

    /**
     * Forgets the last drain, if not committed, and every open window: their records will be
     * consumed again from the last committed offsets (and judged afresh: the rate limits too).
     */
    public void rollback() {
        uncommitted.clear();
        uncommittedStreaks.clear();
        open.clear();
        limits.reset();
        recentTexts.clear();
        drained = false;
    }

    /**
     * Drops one room's open window (its topic cannot be created, say).
     *
     * @return how many comments were in it
     */
    public int discard(String room) {
        Window window = open.remove(room);
        return window == null ? 0 : window.candidates.size();
    }

    private Outcome addComment(Ingress ingress, ClientFrame.Comment comment) {
        String room = comment.room();
        Window existing = open.get(room);
        RoomState state = state(room);
        if ((existing != null && existing.candidates.containsKey(comment.id()))
                || state.commentIds().containsKey(comment.id())) {
            return Outcome.DUPLICATE;
        }
        String userId = ingress.user().id();
        if (mutedUntil(state, existing, userId) > ingress.ts()) {
            return Outcome.MUTED;
        }
        if (blockedWords.matches(comment.text())) {
            return Outcome.BLOCKED;
        }
        int priority = priority(ingress, room);
        boolean privileged = priority < 2;
        Integer slowSeconds = existing != null && existing.slowMode != null ? existing.slowMode : state.slowMode();
        Duration streamerSlowMode = slowSeconds > 0 ? Duration.ofSeconds(slowSeconds) : null;
        if (!privileged && !limits.tryComment(room, userId, ingress.ts(), streamerSlowMode)) {
            return Outcome.RATE_LIMITED;
        }
        String textKey = room + '\u0000' + userId + '\u0000' + comment.text().strip().toLowerCase(java.util.Locale.ROOT);
        Long previous = recentTexts.get(textKey);
        if (previous != null && ingress.ts() - previous < policy.duplicateTextWindow().toMillis()) {
            return Outcome.REPEATED;
        }
        Window window = existing == null ? window(room) : existing;
        Candidate candidate = new Candidate(new BatchComment(comment.id(), ingress.user().publicView(),
                comment.text(), comment.color(), comment.mode(), ingress.ts()), priority, window.arrivals++);
        if (window.candidates.size() >= policy.maxCommentsPerWindow()) {
            // full: a comment of higher priority takes the place of the latest of the lowest
            Candidate weakest = null;
            for (Candidate c : window.candidates.values()) {
                if (weakest == null || c.priority > weakest.priority
                        || (c.priority == weakest.priority && c.arrival > weakest.arrival)) {
                    weakest = c;
                }
            }
            window.dropped++;
            if (weakest == null || weakest.priority <= priority) {
                return Outcome.DROPPED;
            }
            window.candidates.remove(weakest.comment.id());
        }
        recentTexts.remove(textKey);
        recentTexts.put(textKey, ingress.ts());
        window.candidates.put(comment.id(), candidate);
        return Outcome.ADDED;
    }

    private Outcome addGift(Ingress ingress, ClientFrame.Gift gift) {
        String room = gift.room();
        Window existing = open.get(room);
        if ((existing != null && existing.giftIds.containsKey(gift.id())) || state(room).giftIds().containsKey(gift.id())) {
            return Outcome.DUPLICATE;
        }
        if (!giftValues.containsKey(gift.gift())) {
            log.atWarn().addKeyValue("room", room).log("Gift {} of room {} is not in this aggregator's catalogue: counted with value 0",
                    gift.gift(), room);
        }
        Window window = existing == null ? window(room) : existing;
        window.giftIds.put(gift.id(), ingress.ts());
        User user = ingress.user().publicView();
        window.gifts.computeIfAbsent(user.id() + '\u0000' + gift.gift(), k -> new GiftSends(user, gift.gift(), ingress.ts()))
                .add(gift.count(), ingress.ts());
        lastGift.computeIfAbsent(room, r -> new HashMap<>()).put(user.id(), ingress.ts());
        return Outcome.ADDED;
    }

    /** 0 the streamer, 1 moderators (and admins), 2 recent gifters, 3 everyone else. */
    private int priority(Ingress ingress, String room) {
        Role role = ingress.user().role();
        if (role == Role.STREAMER) {
            return 0;
        }
        if (role == Role.MODERATOR || role == Role.ADMIN) {
            return 1;
        }
        Long gifted = lastGift.getOrDefault(room, Map.of()).get(ingress.user().id());
        if (gifted != null && ingress.ts() - gifted <= policy.giftPriority().toMillis()) {
            return 2;
        }
        return 3;
    }

    private static long mutedUntil(RoomState state, @Nullable Window window, String user) {
        long until = state.mutes().getOrDefault(user, 0L);
        if (window != null) {
            until = Math.max(until, window.mutes.getOrDefault(user, 0L));
        }
        return until;
    }

    /** The density cap: the first {@code density} comments by priority, then arrival; shown in arrival order. */
    private List<BatchComment> selectByPriority(Window window) {
        List<Candidate> all = new ArrayList<>(window.candidates.values());
        if (all.size() > policy.density()) {
            all.sort(Comparator.comparingInt((Candidate c) -> c.priority).thenComparingLong(c -> c.arrival));
            all = new ArrayList<>(all.subList(0, policy.density()));
            all.sort(Comparator.comparingLong(c -> c.arrival));
        }
        return all.stream().map(c -> c.comment).toList();
    }

    /** Old ids plus new ones, without those older than the horizon, at most {@code max} (the newest). */
    private Map<String, Long> bounded(Map<String, Long> before, Map<String, Long> added, int max, long now) {
        long oldest = now - policy.dedupHorizon().toMillis();
        Map<String, Long> ids = new LinkedHashMap<>();
        before.forEach((id, ts) -> {
            if (ts >= oldest) {
                ids.put(id, ts);
            }
        });
        ids.putAll(added);
        int excess = ids.size() - max;
        if (excess > 0) {
            var it = ids.entrySet().iterator();
            while (excess-- > 0) {
                it.next();
                it.remove();
            }
        }
        return ids;
    }

    private Window window(String room) {
        return open.computeIfAbsent(room, r -> new Window());
    }

    private void requireNothingUncommitted() {
        if (drained) {
            throw new IllegalStateException("the last drain was neither committed nor rolled back");
        }
    }

    /** One room's open window. */
    private static final class Window {
        /** By id, in arrival order: the id check and the order in one structure. */
        final Map<String, Candidate> candidates = new LinkedHashMap<>();
        /** By user and gift, in order of the first send. */
        final Map<String, GiftSends> gifts = new LinkedHashMap<>();
        final Map<String, Long> giftIds = new LinkedHashMap<>();
        final Map<String, Long> mutes = new LinkedHashMap<>();
        /** The slow mode the streamer set within this window (seconds, 0 = off), if they did. */
        @Nullable Integer slowMode;
        long likes;
        int dropped;
        long arrivals;
    }

    private record Candidate(BatchComment comment, int priority, long arrival) {
    }

    /** One user's sends of one gift within a window. */
    private static final class GiftSends {
        final User user;
        final String gift;
        final long firstTs;
        long lastTs;
        int count;

        GiftSends(User user, String gift, long firstTs) {
            this.user = user;
            this.gift = gift;
            this.firstTs = firstTs;
            this.lastTs = firstTs;
        }

        void add(int n, long ts) {
            count += n;
            lastTs = Math.max(lastTs, ts);
        }
    }

    private record Streak(long combo, long lastTs) {
    }
}
