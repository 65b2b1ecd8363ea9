package dev.danmaku.aggregator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.aggregator.pipeline.AggregatorLifecycle;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/** How the service starts next to a web stack, as in the one-machine launcher (WebFlux is on this test class path). */
class AggregatorApplicationTest {

    // nothing listens there: the loop keeps retrying in the background, which is all these tests need
    private static final String NO_BROKER = "danmaku.kafka.bootstrap-servers=127.0.0.1:1";

    @Test
    void itsBuilderStartsNoWebServer() {
        try (ConfigurableApplicationContext context = AggregatorApplication.builder().properties(NO_BROKER).run()) {
            assertThat(context).isNotInstanceOf(WebServerApplicationContext.class);
            assertThat(context.getBean(AggregatorLifecycle.class).isRunning()).isTrue();
        }
    }

    @Test
    void aPlainSpringApplicationBuilderStartsNoWebServerEither() {
        try (ConfigurableApplicationContext context = new SpringApplicationBuilder(AggregatorApplication.class)
                .properties(NO_BROKER).run()) {
            assertThat(context).isNotInstanceOf(WebServerApplicationContext.class);
        }
    }

    @Test
    void closingTheContextStopsTheLoopPromptlyEvenWithoutABroker() {
        ConfigurableApplicationContext context = AggregatorApplication.builder()
                .properties(NO_BROKER, "danmaku.node-id=closing-test").run();
        AggregatorLifecycle lifecycle = context.getBean(AggregatorLifecycle.class);
        long started = System.nanoTime();

        context.close();

        assertThat(lifecycle.isRunning()).isFalse();
        assertThat((System.nanoTime() - started) / 1_000_000).as("close took (ms)").isLessThan(3_000);
        assertThat(Thread.getAllStackTraces().keySet()).extracting(Thread::getName)
                .doesNotContain("danmaku-aggregator-closing-test");
    }
}
