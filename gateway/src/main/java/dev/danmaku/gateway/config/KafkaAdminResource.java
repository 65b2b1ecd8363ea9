package dev.danmaku.gateway.config;

import java.time.Duration;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;

/**
 * The node's admin client as a bean that closes within a bound: {@code Admin.close()} without
 * one waits for pending calls as long as they take. Beans that use the client take this one, so
 * that it is closed after them.
 */
public final class KafkaAdminResource implements AutoCloseable {

    private final Admin admin;

    KafkaAdminResource(Map<String, Object> config) {
        this.admin = Admin.create(config);
    }

    public Admin admin() {
        return admin;
    }

    @Override
    public void close() {
        admin.close(Duration.ofSeconds(2));
    }
}
