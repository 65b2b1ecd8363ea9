package dev.danmaku.gateway.config;

import dev.danmaku.gateway.GatewayApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.EnvironmentPostProcessor;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.env.DefaultPropertiesPropertySource;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.boot.origin.OriginTrackedValue;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;

/**
 * Adds the gateway's own Spring defaults ({@value #RESOURCE}: actuator exposure, log levels) to
 * an application started from {@link GatewayApplication}, at the lowest precedence. Not an
 * {@code application.yml}: the stand-alone launcher has the gateway's and the aggregator's jars
 * on one class path, where one {@code application.yml} would be seen by both. Registered in
 * {@code META-INF/spring.factories}; it does nothing for other applications in the same JVM.
 */
public final class GatewayDefaults implements EnvironmentPostProcessor {

    static final String RESOURCE = "dev/danmaku/gateway/gateway-defaults.yml";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!application.getAllSources().contains(GatewayApplication.class)) {
            return;
        }
        Map<String, Object> defaults = load();
        PropertySource<?> existing = environment.getPropertySources().get(DefaultPropertiesPropertySource.NAME);
        if (existing != null) {
            defaults.keySet().removeIf(existing::containsProperty); // the launcher's defaults win
        }
        DefaultPropertiesPropertySource.addOrMerge(defaults, environment.getPropertySources());
    }

    static Map<String, Object> load() {
        Map<String, Object> values = new LinkedHashMap<>();
        try {
            for (PropertySource<?> source : new YamlPropertySourceLoader().load(RESOURCE, new ClassPathResource(RESOURCE))) {
                if (source instanceof EnumerablePropertySource<?> enumerable) {
                    for (String name : enumerable.getPropertyNames()) {
                        Object value = enumerable.getProperty(name);
                        values.put(name, value instanceof OriginTrackedValue tracked ? tracked.getValue() : value);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
        return values;
    }
}
