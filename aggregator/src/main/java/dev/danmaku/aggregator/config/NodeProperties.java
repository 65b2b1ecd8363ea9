package dev.danmaku.aggregator.config;

import java.security.SecureRandom;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code danmaku.node-id}: this instance's name, part of its Kafka {@code transactional.id} and
 * client ids. Default: a random 8-character id, new at every start.
 *
 * <p>Two running aggregators must never share a node id (the second fences the first). A stable
 * id per instance (a StatefulSet pod's name) lets a restarted instance abort the transaction its
 * previous life left open at once instead of after {@code danmaku.aggregator.transaction-timeout}.
 *
 * @param nodeId {@code [A-Za-z0-9_.-]{1,64}}
 */
@ConfigurationProperties("danmaku")
public record NodeProperties(String nodeId) {

    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9_.-]{1,64}");
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

    public NodeProperties(@Nullable String nodeId) {
        String id = nodeId == null || nodeId.isBlank() ? randomId() : nodeId;
        if (!NODE_ID.matcher(id).matches()) {
            throw new IllegalArgumentException("danmaku.node-id must match " + NODE_ID.pattern() + ", was " + id);
        }
        this.nodeId = id;
    }

    private static String randomId() {
        SecureRandom random = new SecureRandom();
        StringBuilder id = new StringBuilder(8);
        for (int i = 0; i < 8; i++) {
            id.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
        return id.toString();
    }
}
