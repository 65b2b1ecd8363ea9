package dev.danmaku.aggregator.config;

import dev.danmaku.aggregator.AggregatorApplication;
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
 * Adds the aggregator's own defaults ({@value #RESOURCE}) to an application started from
 * {@link AggregatorApplication}, at the lowest precedence: anything else (application.yml,
 * environment, system properties, the launcher's {@code SpringApplicationBuilder.properties})
 * overrides them.
 *
 * <p>Why not an {@code application.yml}: the stand-alone launcher has the gateway's and the
 * aggregator's jars on one class path, where only one {@code application.yml} would be seen by
 * both. And {@code spring.main.web-application-type: none} must be known before the context is
 * created, which a {@code @PropertySource} is not. Registered in {@code META-INF/spring.factories};
 * it does nothing for other applications in the same JVM.
 */
public final class AggregatorDefaults implements EnvironmentPostProcessor {

    static final String RESOURCE = "dev/danmaku/aggregator/aggregator-defaults.yml";

    @Override
    public void postProcessEnvironment(ConfigurableEnvironment environment, SpringApplication application) {
        if (!application.getAllSources().contains(AggregatorApplication.class)) {
            return;
        }
        Map<String, Object> defaults = load();
        PropertySource<?> existing = environment.getPropertySources().get(DefaultPropertiesPropertySource.NAME);
        if (existing != null) {
            // the launcher's own default properties win over ours
            defaults.keySet().removeIf(existing::containsProperty);
        }
        DefaultPropertiesPropertySource.addOrMerge(defaults, environment.getPropertySources());
    }

    /** The defaults of {@value #RESOURCE}, flattened ({@code danmaku.aggregator.window} and so on). */
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
