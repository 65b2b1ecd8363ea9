package dev.danmaku.gateway.ingress;

import dev.danmaku.protocol.bus.Topics;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure {@code danmaku.ingress} exists, without waiting for the answer: the call returns at
 * once and its outcome is logged from the admin client's thread. Sends made before the topic
 * exists wait for it on the send thread (bounded by {@code max.block.ms}).
 */
public final class IngressTopic {

    private static final Logger log = LoggerFactory.getLogger(IngressTopic.class);

    private final Admin admin;
    private final int partitions;
    private final short replicationFactor;

    public IngressTopic(Admin admin, int partitions, short replicationFactor) {
        this.admin = admin;
        this.partitions = partitions;
        this.replicationFactor = replicationFactor;
    }

    public void ensure() {
        NewTopic topic = new NewTopic(Topics.INGRESS, partitions, replicationFactor);
        admin.createTopics(List.of(topic)).all().whenComplete((ignored, error) -> {
            Throwable cause = error;
            while ((cause instanceof ExecutionException || cause instanceof CompletionException)
                    && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause == null) {
                log.info("Created topic {} ({} partitions, replication factor {})", Topics.INGRESS, partitions,
                        replicationFactor);
            } else if (cause instanceof TopicExistsException) {
                log.debug("Topic {} exists", Topics.INGRESS);
            } else {
                log.warn("Could not create topic {}: {}", Topics.INGRESS, cause.toString());
            }
        });
    }
}
