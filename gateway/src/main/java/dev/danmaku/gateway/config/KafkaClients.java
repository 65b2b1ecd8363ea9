package dev.danmaku.gateway.config;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The gateway's Kafka client configurations, each choice explained where it is made. */
final class KafkaClients {

    private KafkaClients() {
    }

    static Map<String, Object> admin(GatewayProperties properties) {
        Map<String, Object> config = new HashMap<>();
        config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, properties.kafka().bootstrapServers());
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, "danmaku-gateway-" + properties.nodeId() + "-admin");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
        return config;
    }

    /** Idempotent, acks=all: an {@code ack} to a viewer means the send is stored durably. */
    static Map<String, Object> producer(GatewayProperties properties) {
        long deliveryMs = properties.kafka().deliveryTimeout().toMillis();
        long lingerMs = properties.kafka().linger().toMillis();
        Map<String, Object> config = new HashMap<>();
        config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, properties.kafka().bootstrapServers());
        config.put(ProducerConfig.CLIENT_ID_CONFIG, "danmaku-gateway-" + properties.nodeId() + "-ingress");
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // a few ms of linger put the sends of that moment in one request: at 350 sends/s, 2 ms
        // spent 11-13 % of the gateway's CPU in the producer's thread (async-profiler, fan-out bench)
        config.put(ProducerConfig.LINGER_MS_CONFIG, (int) lingerMs);
        // the producer gives up (and the viewer is told "unavailable") after the delivery timeout;
        // Kafka requires delivery.timeout.ms >= linger.ms + request.timeout.ms
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) deliveryMs);
        config.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) (deliveryMs - lingerMs));
        // send() waits this long at most for metadata or buffer space, on the send thread
        config.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, properties.kafka().maxBlock().toMillis());
        return config;
    }

    /** The bound on one publish: the producer's own timeouts plus a margin, so they report first. */
    static Duration publishBound(GatewayProperties properties) {
        return properties.kafka().deliveryTimeout().plus(properties.kafka().maxBlock()).plusMillis(500);
    }

    /**
     * The room feed's consumer: manual assignment (no group, nothing committed), committed
     * batches only (the aggregator writes them in transactions), never creating a topic.
     */
    static Map<String, Object> roomConsumer(GatewayProperties properties) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, properties.kafka().bootstrapServers());
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "danmaku-gateway-" + properties.nodeId() + "-feed");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        // a newly assigned room joins the next fetch sooner: joins wait for their room's feed
        config.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
        return config;
    }
}
