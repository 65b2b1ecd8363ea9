package dev.danmaku.aggregator;

import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;

/**
 * The aggregator service: no web server, one loop thread (see
 * {@link dev.danmaku.aggregator.pipeline.AggregationLoop}).
 *
 * <p>Start it with {@link #builder()}, e.g. from another module's launcher or test:
 * {@code AggregatorApplication.builder().properties("danmaku.kafka.bootstrap-servers=" + servers).run()}.
 * It never starts a web server, even when a web stack is on the class path: {@link #builder()}
 * says so, and so do the service's own defaults
 * ({@link dev.danmaku.aggregator.config.AggregatorDefaults}), which also apply to a plain
 * {@code new SpringApplicationBuilder(AggregatorApplication.class)}.
 */
@SpringBootApplication
public class AggregatorApplication {

    /** A builder for this service's context, without web server. Add properties, then {@code run()}. */
    public static SpringApplicationBuilder builder() {
        return new SpringApplicationBuilder(AggregatorApplication.class)
                .main(AggregatorApplication.class)
                .web(WebApplicationType.NONE);
    }

    public static void main(String[] args) {
        builder().run(args);
    }
}
