package dev.danmaku.gateway.config;

import dev.danmaku.protocol.Gift;
import dev.danmaku.protocol.Limits;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Everything the gateway reads from {@code danmaku.*}. Defaults live here (not in a YAML
 * file) so that a context started from another module's classpath gets them too; each record
 * checks its values in its constructor, so a bad configuration stops the start-up.
 *
 * @param nodeId         this node's id in ingress records and connection ids; default a random short id
 * @param devMode        dev conveniences: {@code POST /api/dev/tokens} and a fixed JWT secret when none is set
 * @param allowedOrigins browser origins allowed to open {@code /ws}; empty allows every origin
 * @param gifts          the gift catalogue; default heart 1, rose 10, rocket 1000, carnival 5000
 */
@ConfigurationProperties("danmaku")
public record GatewayProperties(
        String nodeId,
        boolean devMode,
        @DefaultValue Heartbeat heartbeat,
        @DefaultValue Auth auth,
        @DefaultValue Kafka kafka,
        @DefaultValue Feed feed,
        @DefaultValue LimitsProperties limits,
        @DefaultValue Outbound outbound,
        List<String> allowedOrigins,
        List<Gift> gifts) {

    public static final List<Gift> DEFAULT_GIFTS = Gift.DEFAULT_CATALOGUE;

    /** The binder passes null for what is not configured: the defaults are filled in here. */
    @SuppressWarnings("ConstantValue")
    public GatewayProperties {
        nodeId = nodeId == null || nodeId.isBlank() ? randomNodeId() : nodeId;
        if (!nodeId.matches("[A-Za-z0-9_-]{1,32}")) {
            throw new IllegalArgumentException("danmaku.node-id must be 1..32 characters of [A-Za-z0-9_-]");
        }
        allowedOrigins = allowedOrigins == null ? List.of() : List.copyOf(allowedOrigins);
        gifts = gifts == null || gifts.isEmpty() ? DEFAULT_GIFTS : List.copyOf(gifts);
    }

    /** The defaults, as a test or a launcher would start from. */
    public static GatewayProperties defaults() {
        return new GatewayProperties(null, false, Heartbeat.DEFAULTS, new Auth(null, Duration.ofHours(24), null),
                new Kafka("localhost:9092", 6, (short) 1, Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofMillis(5)),
                Feed.DEFAULTS, LimitsProperties.DEFAULTS, new Outbound(4096, 32, Duration.ofSeconds(10), Outbound.DEFAULT_SOCKET_SEND_BUFFER), null, null);
    }

    private static String randomNodeId() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    /**
     * WebSocket heartbeat: a PING every {@code interval}; close 4000 when nothing arrived for {@code timeout}.
     */
    public record Heartbeat(@DefaultValue("25s") Duration interval, @DefaultValue("60s") Duration timeout) {

        public static final Heartbeat DEFAULTS = new Heartbeat(Duration.ofSeconds(25), Duration.ofSeconds(60));

        public Heartbeat {
            if (interval.isNegative() || interval.isZero() || timeout.compareTo(interval) <= 0) {
                throw new IllegalArgumentException(
                        "danmaku.heartbeat: interval must be > 0 and timeout > interval");
            }
        }
    }

    /**
     * @param jwtSecret   the HS256 key (UTF-8, at least 32 bytes); env {@code DANMAKU_AUTH_JWT_SECRET}
     * @param devTokenTtl lifetime of the tokens {@code POST /api/dev/tokens} issues
     * @param jwkSetUri   an identity provider's JWK set (RS256/ES256... tokens verified with its public
     *                    keys, fetched and cached); env {@code DANMAKU_AUTH_JWK_SET_URI}. With it, the
     *                    secret is optional outside dev mode
     */
    public record Auth(@Nullable String jwtSecret, @DefaultValue("24h") Duration devTokenTtl,
                       java.net.@Nullable URI jwkSetUri) {
        public Auth {
            if (devTokenTtl.isNegative() || devTokenTtl.isZero()) {
                throw new IllegalArgumentException("danmaku.auth.dev-token-ttl must be > 0");
            }
        }
    }

    /**
     * @param bootstrapServers  Kafka's address; env {@code DANMAKU_KAFKA_BOOTSTRAP_SERVERS}
     * @param ingressPartitions partitions of {@code danmaku.ingress} when the gateway creates it
     * @param replicationFactor replication factor of the topics the gateway creates
     * @param deliveryTimeout   how long a send may wait for the broker's acknowledgement before the
     *                          client is told {@code unavailable}
     * @param maxBlock          how long the producer may wait for metadata or buffer space (on the
     *                          send thread, never on an event loop)
     * @param linger            how long the ingress producer waits to fill a request ({@code linger.ms}):
     *                          each produce request costs the gateway far more CPU than a record in it
     */
    public record Kafka(@DefaultValue("localhost:9092") String bootstrapServers,
                        @DefaultValue("6") int ingressPartitions,
                        @DefaultValue("1") short replicationFactor,
                        @DefaultValue("5s") Duration deliveryTimeout,
                        @DefaultValue("1s") Duration maxBlock,
                        @DefaultValue("5ms") Duration linger) {
        public Kafka {
            if (bootstrapServers.isBlank() || ingressPartitions < 1 || replicationFactor < 1) {
                throw new IllegalArgumentException(
                        "danmaku.kafka: bootstrap-servers required, ingress-partitions and replication-factor >= 1");
            }
            if (deliveryTimeout.toMillis() < 1000 || maxBlock.isNegative() || linger.isNegative()
                    || linger.toMillis() > 100) {
                throw new IllegalArgumentException(
                        "danmaku.kafka: delivery-timeout >= 1s, max-block >= 0, linger in [0, 100ms]");
            }
        }
    }

    /**
     * The room feed.
     *
     * @param ringMaxBatches     recent batches kept per room for resume
     * @param ringMaxAge         how old a kept batch may get
     * @param joinTimeout        how long a {@code join} may wait for the room's feed to catch up
     * @param topicCheckInterval how often rooms whose topic does not exist yet are checked again
     */
    public record Feed(@DefaultValue("5000") int ringMaxBatches,
                       @DefaultValue("2m") Duration ringMaxAge,
                       @DefaultValue("10s") Duration joinTimeout,
                       @DefaultValue("1s") Duration topicCheckInterval) {

        public static final Feed DEFAULTS = new Feed(5000, Duration.ofMinutes(2), Duration.ofSeconds(10),
                Duration.ofSeconds(1));

        public Feed {
            if (ringMaxBatches < 1 || ringMaxAge.isNegative() || joinTimeout.toMillis() < 100
                    || topicCheckInterval.toMillis() < 10) {
                throw new IllegalArgumentException("danmaku.feed: ring-max-batches >= 1, ring-max-age >= 0, "
                        + "join-timeout >= 100ms, topic-check-interval >= 10ms");
            }
        }
    }

    /**
     * The protocol's limits, plus a looser per-connection limit on the other sends (likes, gifts, mutes).
     */
    public record LimitsProperties(@DefaultValue("4096") int maxFrameBytes,
                                   @DefaultValue("100") int maxTextLength,
                                   @DefaultValue("10") int maxRoomsPerConnection,
                                   @DefaultValue("5") int commentsPerSecond,
                                   @DefaultValue("10") int commentBurst,
                                   @DefaultValue("20") int sendsPerSecond,
                                   @DefaultValue("40") int sendBurst) {

        public static final LimitsProperties DEFAULTS = new LimitsProperties(4096, 100, 10, 5, 10, 20, 40);

        public LimitsProperties {
            toProtocol(maxFrameBytes, maxTextLength, maxRoomsPerConnection, commentsPerSecond, commentBurst);
            if (sendsPerSecond < 1 || sendBurst < sendsPerSecond) {
                throw new IllegalArgumentException("danmaku.limits: sends-per-second >= 1, send-burst >= rate");
            }
        }

        public Limits toProtocol() {
            return toProtocol(maxFrameBytes, maxTextLength, maxRoomsPerConnection, commentsPerSecond, commentBurst);
        }

        private static Limits toProtocol(int frame, int text, int rooms, int rate, int burst) {
            return new Limits(frame, text, rooms, rate, burst);
        }
    }

    /**
     * @param queueCapacity frames waiting for one connection; beyond it comment batches are skipped
     *                      (the viewer lags) while its own frames and batches with gifts or totals
     *                      still go, up to a quarter more (64 at least); beyond that: close 1013
     * @param maxInFlight   a connection's frames being processed at once (sends waiting for the broker, joins)
     * @param maxLag        how long a viewer may lag before it is closed with 1013
     * @param socketSendBuffer each accepted socket's kernel send buffer ({@code SO_SNDBUF}; Linux
     *                      reserves twice this), so that a slow reader's backlog stays in its queue,
     *                      where the lag policy sees it, and the host's TCP memory stays bounded
     *                      with thousands of sockets; 0 leaves it to the kernel's autotuning (up to
     *                      {@code tcp_wmem}'s maximum, 4 MiB by default, per socket)
     */
    public record Outbound(@DefaultValue("4096") int queueCapacity, @DefaultValue("32") int maxInFlight,
                           @DefaultValue("10s") Duration maxLag, @DefaultValue("32KB") DataSize socketSendBuffer) {

        public static final DataSize DEFAULT_SOCKET_SEND_BUFFER = DataSize.ofKilobytes(32);

        public Outbound {
            if (queueCapacity < 64 || maxInFlight < 1 || maxLag.toMillis() < 100) {
                throw new IllegalArgumentException(
                        "danmaku.outbound: queue-capacity >= 64, max-in-flight >= 1, max-lag >= 100ms");
            }
            if (socketSendBuffer.isNegative() || socketSendBuffer.toBytes() > Integer.MAX_VALUE / 2
                    || socketSendBuffer.toBytes() > 0 && socketSendBuffer.toBytes() < 4096) {
                throw new IllegalArgumentException("danmaku.outbound.socket-send-buffer: 0 (the kernel's) or 4KB..1GB");
            }
        }
    }
}
