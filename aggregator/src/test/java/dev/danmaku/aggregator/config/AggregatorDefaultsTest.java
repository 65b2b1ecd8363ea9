package dev.danmaku.aggregator.config;

import static org.assertj.core.api.Assertions.assertThat;

import dev.danmaku.aggregator.AggregatorApplication;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.env.DefaultPropertiesPropertySource;
import org.springframework.core.env.MapPropertySource;
import org.springframework.core.env.StandardEnvironment;

class AggregatorDefaultsTest {

    @Test
    void theDocumentedDefaultsAreTheRecordsDefaults() {
        Binder documented = binder(AggregatorDefaults.load());
        Binder none = binder(Map.of());

        assertThat(documented.bindOrCreate("danmaku.aggregator", AggregatorProperties.class))
                .isEqualTo(none.bindOrCreate("danmaku.aggregator", AggregatorProperties.class));
        assertThat(documented.bindOrCreate("danmaku.kafka", KafkaProperties.class))
                .isEqualTo(none.bindOrCreate("danmaku.kafka", KafkaProperties.class));
    }

    @Test
    void theAggregatorGetsNoWebServerEvenWhenStartedWithoutItsBuilder() {
        StandardEnvironment environment = new StandardEnvironment();

        new AggregatorDefaults().postProcessEnvironment(environment, new SpringApplication(AggregatorApplication.class));

        assertThat(environment.getProperty("spring.main.web-application-type")).isEqualTo("none");
        assertThat(environment.getProperty("danmaku.aggregator.window")).isEqualTo("100ms");
    }

    @Test
    void aLaunchersDefaultPropertiesWinOverTheAggregatorsDefaults() {
        StandardEnvironment environment = new StandardEnvironment();
        environment.getPropertySources().addLast(new DefaultPropertiesPropertySource(
                Map.of("danmaku.kafka.bootstrap-servers", "127.0.0.1:1234")));

        new AggregatorDefaults().postProcessEnvironment(environment, new SpringApplication(AggregatorApplication.class));

        assertThat(environment.getProperty("danmaku.kafka.bootstrap-servers")).isEqualTo("127.0.0.1:1234");
        assertThat(environment.getProperty("spring.main.web-application-type")).isEqualTo("none");
    }

    @Test
    void otherApplicationsInTheSameJvmAreLeftAlone() {
        StandardEnvironment environment = new StandardEnvironment();

        new AggregatorDefaults().postProcessEnvironment(environment, new SpringApplication(Object.class));

        assertThat(environment.getProperty("spring.main.web-application-type")).isNull();
    }

    @Test
    void slowModeIsConfiguredPerRoomAndARoomIdWithAnUnderscoreInBrackets() {
        AggregatorProperties properties = binder(Map.of(
                "danmaku.aggregator.slow-mode.r1", "10s",
                "danmaku.aggregator.slow-mode.[Room_B]", "1m")).bindOrCreate("danmaku.aggregator",
                AggregatorProperties.class);

        assertThat(properties.slowMode()).containsOnly(Map.entry("r1", java.time.Duration.ofSeconds(10)),
                Map.entry("Room_B", java.time.Duration.ofMinutes(1)));
        assertThat(binder(Map.of()).bindOrCreate("danmaku.aggregator", AggregatorProperties.class).slowMode())
                .as("default: no room in slow mode").isEmpty();
    }

    private static Binder binder(Map<String, Object> values) {
        return new Binder(ConfigurationPropertySources.from(new MapPropertySource("test", values)));
    }
}
